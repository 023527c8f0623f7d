/**
 * The import rules of .dependency-cruiser.cjs hold for the project: no cycles, a domain without the
 * AWS SDK, adapters or handlers, a runtime without CDK or the local stand-ins. The same rules are
 * first shown to catch a fixture that breaks them, so a passing check is not an empty one.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

function violations(cwd: string, paths: string[]): Violation[] {
  const output = execFileSync(process.execPath, [join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'), ...paths, '--config', CONFIG, '--output-type', 'json'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // Exit code 0 either way with the json reporter; violations are in the report.
  });
  return (JSON.parse(output) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('import rules', () => {
  it('catch a cycle, an SDK import in the domain and a domain importing an adapter', () => {
    const found = violations(join(ROOT, 'test/fixtures/dependency-rules'), ['lambdas']).map((v) => v.rule.name);
    expect(new Set(found)).toEqual(new Set(['no-circular', 'domain-without-aws-sdk']));
    expect(found.filter((name) => name === 'domain-without-aws-sdk')).toHaveLength(2);
  });

  it('hold for lambdas/, lib/, local/, bin/ and cli/', () => {
    expect(violations(ROOT, ['lambdas', 'lib', 'local', 'bin', 'cli'])).toEqual([]);
  });
});
