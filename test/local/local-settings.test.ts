/**
 * `npm start`'s settings (local/pipeline/settings.ts): cdk.json's context, then --settings, then
 * options, over the local defaults; validated by lib/config.ts exactly as cdk synth validates them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromContext, ProvisionerConfigError } from '../../lib/config';
import { LOCAL_DEFAULTS } from '../../local/pipeline/defaults';
import { planLocalIngestion } from '../../local/pipeline/ingestion';
import {
  LOCAL_RETRY_SAFETY_MARGIN_MS,
  readCdkJsonSettings,
  readSettingsFile,
  resolveLocalSettings,
  SettingsFileError,
  type SettingsSource,
} from '../../local/pipeline/settings';

const TEAM_FEED = { via: 'queue', principals: ['arn:aws:iam::444455556666:role/team-feed'], eventTypes: '*', groups: ['app-*'] };
const team = (values: Record<string, unknown>): SettingsSource => ({ label: '--settings team.json', values });
const cdk = (values: Record<string, unknown>): SettingsSource => ({ label: 'cdk.json', values });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'local-settings-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveLocalSettings', () => {
  it('maps a settings file onto the pipeline options; what it does not give keeps the local defaults', () => {
    const resolved = resolveLocalSettings([team({ managedGroupScope: 'prefix:app-', deletionCap: 3, producers: { 'team-feed': TEAM_FEED } })]);

    expect(resolved.options).toMatchObject({
      managedGroupScope: 'prefix:app-',
      deletionCap: 3,
      identityStoreId: LOCAL_DEFAULTS.identityStoreId,
      maxMembershipRemovalsPerEvent: LOCAL_DEFAULTS.maxMembershipRemovalsPerEvent,
      redeliveryBaseDelaySeconds: LOCAL_DEFAULTS.redeliveryBaseDelaySeconds,
      retrySafetyMarginMs: LOCAL_RETRY_SAFETY_MARGIN_MS,
      requestsPerSecond: LOCAL_DEFAULTS.tps,
      operators: LOCAL_DEFAULTS.operators,
    });
    // The deployment's producers replace the bundled scenario's: only team-feed is declared.
    expect(Object.keys(resolved.options.producers)).toEqual(['team-feed']);
    expect(resolved.header).toEqual(['settings: --settings team.json (managedGroupScope, deletionCap, producers); the rest local defaults']);
    expect(resolved.notUsed).toEqual([]);

    // A producer in another account still gets local credentials and its own queue.
    const plan = planLocalIngestion({ producers: resolved.options.producers, operators: resolved.options.operators });
    expect(plan.sourceQueues).toEqual(['identity-provisioner-events', 'identity-provisioner-producer-team-feed']);
    expect(plan.principals.list().map((principal) => principal.arn)).toContain('arn:aws:iam::444455556666:role/team-feed');
  });

  it('--settings wins over cdk.json, options over both, and the header says which came from where', () => {
    const resolved = resolveLocalSettings(
      [cdk({ managedGroupScope: 'list:Everyone,Engineering', deletionCap: 7, maxClockSkewSeconds: '60' }), team({ deletionCap: 3, producers: { 'team-feed': TEAM_FEED } })],
      { identityStoreId: 'd-0000000001', tps: 8 },
    );
    expect(resolved.options).toMatchObject({
      managedGroupScope: 'list:Everyone,Engineering',
      deletionCap: 3,
      // Context strings are coerced as cdk synth coerces `-c` values.
      maxClockSkewSeconds: 60,
      identityStoreId: 'd-0000000001',
      requestsPerSecond: 8,
    });
    expect(resolved.sourceOf).toMatchObject({ managedGroupScope: 'cdk.json', deletionCap: '--settings team.json', identityStoreId: '--identity-store-id' });
    expect(resolved.header[0]).toBe(
      'settings: cdk.json (managedGroupScope, maxClockSkewSeconds), --settings team.json (deletionCap, producers), --identity-store-id (identityStoreId), --tps (requestsPerSecond); the rest local defaults',
    );
  });

  it('with nothing given, runs on the embedded local defaults', () => {
    const resolved = resolveLocalSettings([]);
    expect(resolved.options).toMatchObject({ ...LOCAL_DEFAULTS_WITHOUT_LOCAL_ONLY, retrySafetyMarginMs: LOCAL_RETRY_SAFETY_MARGIN_MS });
    expect(resolved.header).toEqual(['settings: local defaults (no cdk.json settings, no --settings)']);
  });

  it("keeps the local waits short against cdk.json's values, but takes them from --settings", () => {
    const fromCdk = resolveLocalSettings([cdk({ redeliveryBaseDelaySeconds: 30, retrySafetyMarginMs: 5000 })]);
    expect(fromCdk.options.redeliveryBaseDelaySeconds).toBe(LOCAL_DEFAULTS.redeliveryBaseDelaySeconds);
    expect(fromCdk.options.retrySafetyMarginMs).toBe(LOCAL_RETRY_SAFETY_MARGIN_MS);
    expect(fromCdk.notUsed.map((entry) => entry.key)).toEqual(['redeliveryBaseDelaySeconds', 'retrySafetyMarginMs']);

    const fromFile = resolveLocalSettings([cdk({ redeliveryBaseDelaySeconds: 30 }), team({ redeliveryBaseDelaySeconds: 5 })]);
    expect(fromFile.options.redeliveryBaseDelaySeconds).toBe(5);
    expect(fromFile.notUsed).toEqual([]);
  });

  it('validates the AWS-only settings and reports them as not used locally, never silently', () => {
    const resolved = resolveLocalSettings([cdk({ alarmEmail: 'ops@example.com', removalPolicy: 'destroy', auditRetentionDays: 90 })]);
    expect(resolved.notUsed.map((entry) => entry.key)).toEqual(['alarmEmail', 'removalPolicy', 'auditRetentionDays']);
    expect(resolved.header[1]).toMatch(/^not used locally: alarmEmail from cdk\.json \(no alarms locally\); removalPolicy from cdk\.json/);
    expect(() => resolveLocalSettings([cdk({ alarmEmail: 'not-an-address' })])).toThrow('alarmEmail: must be an e-mail address');
  });

  it('refuses an unknown key with the message cdk synth gives, did you mean included', () => {
    const raw = { deletionCapp: 3, managedGroupScope: 'prefix:app-' };
    let local: Error | undefined;
    try {
      resolveLocalSettings([team(raw)]);
    } catch (error) {
      local = error as Error;
    }
    expect(local).toBeInstanceOf(ProvisionerConfigError);
    expect(local!.message).toContain('deletionCapp: unknown setting, did you mean deletionCap?');
    // What cdk synth says for the same context (with the identity store it requires).
    let synth: Error | undefined;
    try {
      configFromContext({ getAllContext: () => ({ identityStoreId: 'd-1234567890', '@aws-cdk/core:checkSecretUsage': true, ...raw }) });
    } catch (error) {
      synth = error as Error;
    }
    expect(local!.message).toBe(synth!.message);
  });

  it('refuses an invalid value naming the field and the rule', () => {
    expect(() => resolveLocalSettings([team({ managedGroupScope: 'app-*' })])).toThrow(
      'managedGroupScope: must be "created", "prefix:<prefix>" or "list:<name>,<name>,..."',
    );
    expect(() => resolveLocalSettings([team({ producers: { p: { ...TEAM_FEED, via: 'mail' } } })])).toThrow(/producers\.p\.via/);
  });

  it('refuses queueKind=fifo, naming the setting, rather than running standard', () => {
    expect(() => resolveLocalSettings([team({ queueKind: 'fifo' })])).toThrow(SettingsFileError);
    expect(() => resolveLocalSettings([team({ queueKind: 'fifo' })])).toThrow(/^queueKind: "fifo" \(from --settings team\.json\) is not supported by the local pipeline/);
    expect(resolveLocalSettings([team({ queueKind: 'standard' })]).notUsed).toEqual([]);
  });
});

describe('reading the sources', () => {
  it("takes only the non-CDK keys of cdk.json's context (the project's has only CDK's own)", () => {
    expect(readCdkJsonSettings(join(__dirname, '../../cdk.json'))).toEqual({ label: 'cdk.json', values: {} });
    const file = join(dir, 'cdk.json');
    writeFileSync(file, JSON.stringify({ app: 'x', context: { '@aws-cdk/core:checkSecretUsage': true, 'cli-telemetry': false, managedGroupScope: 'prefix:app-' } }));
    expect(readCdkJsonSettings(file)).toEqual({ label: 'cdk.json', values: { managedGroupScope: 'prefix:app-' } });
    expect(readCdkJsonSettings(join(dir, 'missing.json'))).toBeUndefined();
  });

  it('reads --settings as a JSON object and refuses anything else', () => {
    const file = join(dir, 'team.json');
    writeFileSync(file, JSON.stringify({ deletionCap: 3 }));
    expect(readSettingsFile(file, 'team.json')).toEqual({ label: '--settings team.json', values: { deletionCap: 3 } });
    writeFileSync(file, '[1]');
    expect(() => readSettingsFile(file, 'team.json')).toThrow(/must be a JSON object of settings/);
    writeFileSync(file, '{"deletionCap": ');
    expect(() => readSettingsFile(file, 'team.json')).toThrow(/is not JSON/);
    expect(() => readSettingsFile(join(dir, 'none.json'), 'none.json')).toThrow(/cannot read .*none\.json: no such file/);
  });
});

const { tps: _tps, neighbourTps: _n, timeoutSeconds: _t, ...LOCAL_DEFAULTS_WITHOUT_LOCAL_ONLY } = LOCAL_DEFAULTS;
