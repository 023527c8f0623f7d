/**
 * Both deployed functions are bundled with lib/bundling.ts's options, as the local pipeline bundles
 * the consumer (test/local/function-bundle.test.ts): read from what NodejsFunction's esbuild wrote,
 * through each bundle's source map (its `sources` list every input that has code in the bundle).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, EXAMPLE_SETTINGS, TEST_ENV } from './build-app';

jest.setTimeout(120_000);

interface SourceMap {
  sources: string[];
  sourcesContent?: unknown;
}

describe('the deployed functions bundles', () => {
  let maps: SourceMap[];
  beforeAll(() => {
    const { directory } = buildApp(EXAMPLE_SETTINGS, { env: TEST_ENV, bundle: true }).app.synth();
    maps = readdirSync(directory)
      .map((entry) => join(directory, entry, 'index.js.map'))
      .filter((file) => existsSync(file))
      .map((file) => JSON.parse(readFileSync(file, 'utf8')) as SourceMap);
  });

  it('are three: the consumer, the drift function and the audit digester', () => {
    const entries = maps.map((map) => map.sources.find((source) => /lambdas\/handlers\/[a-z-]+\.ts$/.test(source) && !source.endsWith('-runtime.ts')));
    expect(entries.map((entry) => entry?.replace(/^.*lambdas\//, 'lambdas/')).sort()).toEqual([
      'lambdas/handlers/audit-digester.ts',
      'lambdas/handlers/drift-detector.ts',
      'lambdas/handlers/sqs-consumer.ts',
    ]);
  });

  it("carry zod through lambdas/shared/zod-bundled.ts: its English messages only, none of the other locales", () => {
    for (const map of maps) {
      expect(map.sources.some((source) => source.endsWith('lambdas/shared/zod-bundled-api.ts'))).toBe(true);
      expect(map.sources.filter((source) => source.includes('node_modules/zod/v4/locales/')).map((source) => source.replace(/^.*node_modules\//, ''))).toEqual([
        'zod/v4/locales/en.js',
      ]);
    }
  });

  it("take the AWS SDK's ESM builds, without the browser user-agent parser", () => {
    for (const map of maps) {
      expect(map.sources.filter((source) => /node_modules\/@aws-sdk\/client-[a-z]+\/dist-cjs\//.test(source))).toEqual([]);
      expect(map.sources.filter((source) => source.includes('node_modules/bowser/'))).toEqual([]);
    }
  });

  it('have source maps without the sources', () => {
    for (const map of maps) expect(map.sourcesContent).toBeUndefined();
  });
});
