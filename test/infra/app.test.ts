/**
 * The CDK app itself (bin/identity-provisioner.ts), run as the CDK CLI runs it: context in
 * CDK_CONTEXT_JSON (cdk.json's context, `-c` values and what the CLI adds), templates to CDK_OUTDIR.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EXAMPLE_SETTINGS } from './build-app';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** What the CLI put in context in a real `cdk synth` on this repository, besides the settings. */
const CLI_CONTEXT = {
  ...(JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context,
  'aws:cdk:enable-path-metadata': true,
  'aws:cdk:enable-asset-metadata': true,
  'aws:cdk:version-reporting': true,
  'aws:cdk:bundling-stacks': [],
  '@aws-cdk/core:failSynthOnValidationErrors': false,
};

function runApp(settings: Record<string, unknown>): { status: number | null; stderr: string; outdir: string } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'identity-provisioner-synth-'));
  const result = spawnSync(TSX, [path.join(ROOT, 'bin', 'identity-provisioner.ts')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ ...CLI_CONTEXT, ...settings }),
      CDK_DEFAULT_ACCOUNT: '123456789012',
      CDK_DEFAULT_REGION: 'eu-west-1',
    },
  });
  return { status: result.status, stderr: result.stderr, outdir };
}

describe('bin/identity-provisioner.ts', () => {
  it('stops on a misspelt context key with "did you mean", the message alone (no stack trace)', () => {
    const run = runApp({ identityStoreId: 'd-1234567890', maxConcurency: '4' });
    rmSync(run.outdir, { recursive: true, force: true });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('maxConcurency: unknown setting, did you mean maxConcurrency?');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('synthesizes both stacks with -c producers as a JSON string, and the stateful one imports nothing', () => {
    const run = runApp({
      identityStoreId: 'd-1234567890',
      producers: JSON.stringify(EXAMPLE_SETTINGS.producers),
      operators: JSON.stringify(EXAMPLE_SETTINGS.operators),
    });
    try {
      expect(run.stderr).not.toContain('Invalid identity-provisioner configuration');
      expect(run.status).toBe(0);
      const state = readFileSync(path.join(run.outdir, 'IdentityProvisionerState.template.json'), 'utf8');
      const stateless = readFileSync(path.join(run.outdir, 'IdentityProvisioner.template.json'), 'utf8');
      expect(state).not.toContain('Fn::ImportValue');
      expect(stateless).toContain('Fn::ImportValue');
      expect(stateless).toContain('AWS::Events::EventBusPolicy');
    } finally {
      rmSync(run.outdir, { recursive: true, force: true });
    }
  }, 120_000);
});
