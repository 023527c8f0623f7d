/**
 * The deployment's settings for `npm start`: read as the stack reads them and validated by the
 * same code (lib/config.ts), then mapped onto the local pipeline's options.
 *
 * Where each setting comes from, first match wins:
 *   1. a command-line option that sets it (`--identity-store-id`, `--tps` for requestsPerSecond);
 *   2. `--settings FILE`: a JSON object with the keys of cdk.json's `context`;
 *   3. the non-CDK keys of cdk.json's `context` (CDK's own keys, feature flags, are skipped);
 *   4. the embedded local defaults (local/pipeline/defaults.ts), else the stack's own default.
 * The keys the files give are validated together exactly as `cdk synth` validates context (an
 * unknown key gets "did you mean"); only identityStoreId, required by the stack, defaults to the
 * emulator's store. The local waits (redeliveryBaseDelaySeconds, retrySafetyMarginMs) stay local
 * unless `--settings` names them: cdk.json's values are for AWS. Settings that only mean
 * something in AWS are validated and reported as not used locally.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  driftEnabled,
  isCdkContextKey,
  parseProvisionerSettings,
  type ProvisionerConfig,
  type ProvisionerSettings,
} from '../../lib/config';
import { LOCAL_DEFAULTS } from './defaults';
import type { LocalPipelineOptions } from './pipeline';

type SettingKey = keyof ProvisionerSettings;

/** A settings source that cannot be read or is not a JSON object (npm start exits 2). */
export class SettingsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsFileError';
  }
}

/** Settings with no local meaning: validated, reported, not applied. */
export const NOT_USED_LOCALLY: Readonly<Partial<Record<SettingKey, string>>> = {
  identityStoreRegion: 'the local pipeline runs in us-east-1',
  eventBusName: 'the local bus is identity-provisioner',
  existingEventBusName: 'the local pipeline creates its own bus',
  alarmTopicArn: 'no alarms locally',
  alarmEmail: 'no alarms locally',
  removalPolicy: 'no stack to delete locally',
  auditRetentionDays: 'nothing expires in the local store',
  auditDigestRetentionDays: 'local digests are files in the state directory, with no lock',
  driftAction: 'no scheduled drift run locally: npm run drift reports, npm run drift -- --repair puts back',
};

/** Waits shortened for a laptop run (see defaults.ts): only `--settings` overrides them, never cdk.json. */
export const LOCAL_WAIT_SETTINGS: readonly SettingKey[] = ['redeliveryBaseDelaySeconds', 'retrySafetyMarginMs'];

/** The retry safety margin of the local function (5000 in the stack): a laptop invocation is short. */
export const LOCAL_RETRY_SAFETY_MARGIN_MS = 2000;

export interface SettingsSource {
  /** How the header names it: `cdk.json`, `--settings team.json`. */
  label: string;
  /** Its setting keys (CDK's own already removed). */
  values: Record<string, unknown>;
}

/** The non-CDK keys of a cdk.json's `context`; undefined when the file does not exist. */
export function readCdkJsonSettings(path: string): SettingsSource | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SettingsFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SettingsFileError(`${path} is not JSON: ${(error as Error).message}`);
  }
  const context = (parsed as { context?: unknown } | null)?.context;
  if (context === undefined) return { label: 'cdk.json', values: {} };
  if (typeof context !== 'object' || context === null || Array.isArray(context)) throw new SettingsFileError(`${path}: "context" must be a JSON object`);
  return { label: 'cdk.json', values: withoutCdkKeys(context as Record<string, unknown>) };
}

/** `--settings FILE`: a JSON object with the keys of cdk.json's context. `resolved` is the absolute path. */
export function readSettingsFile(resolved: string, asGiven: string): SettingsSource {
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : (error as Error).message;
    throw new SettingsFileError(`--settings: cannot read ${resolved}: ${why}${asGiven !== resolved ? ` (${asGiven} from the directory npm ran in)` : ''}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SettingsFileError(`--settings: ${resolved} is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SettingsFileError(`--settings: ${resolved} must be a JSON object of settings, as cdk.json's "context" holds them (e.g. {"managedGroupScope": "prefix:app-"})`);
  }
  return { label: `--settings ${basename(asGiven)}`, values: withoutCdkKeys(parsed as Record<string, unknown>) };
}

function withoutCdkKeys(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([key, value]) => !isCdkContextKey(key) && value !== undefined));
}

/** Options given on the command line that set a setting (they win over every file). */
export interface SettingOverrides {
  identityStoreId?: string;
  /** `--tps`: the emulator's quota and the deployment's budget. */
  tps?: number;
}

/** What the local pipeline takes from the settings: a part of LocalPipelineOptions, every member given. */
export type LocalSettingOptions = Required<
  Pick<
    LocalPipelineOptions,
    | 'identityStoreId'
    | 'requestsPerSecond'
    | 'maxConcurrency'
    | 'batchSize'
    | 'functionTimeoutSeconds'
    | 'maxReceiveCount'
    | 'managedGroupScope'
    | 'maxMembershipRemovalsPerEvent'
    | 'deletionCap'
    | 'deletionWindowSeconds'
    | 'idCacheTtlSeconds'
    | 'redeliveryBaseDelaySeconds'
    | 'retrySafetyMarginMs'
    | 'maxClockSkewSeconds'
    | 'occurredAtFloor'
    | 'operators'
    | 'drift'
  >
> & { producers: ProvisionerConfig['producers'] | typeof LOCAL_DEFAULTS.producers };

export interface ResolvedLocalSettings {
  options: LocalSettingOptions;
  /** The files' settings as validated (what `cdk synth` would build from them). */
  config: ProvisionerConfig;
  /** Source label by setting key, for each key a file or option gave. */
  sourceOf: Partial<Record<SettingKey, string>>;
  /** Keys given but not applied locally, with why. */
  notUsed: { key: SettingKey; source: string; why: string }[];
  /** The header line(s): which settings came from where. */
  header: string[];
}

/**
 * Validates the sources together (later sources win) as `cdk synth` validates context, and maps
 * the result onto the pipeline's options. Throws ProvisionerConfigError (the stack's own message)
 * on an invalid or unknown key, SettingsFileError when `queueKind` is fifo.
 */
export function resolveLocalSettings(sources: readonly SettingsSource[], overrides: SettingOverrides = {}): ResolvedLocalSettings {
  const given: Record<string, unknown> = {};
  const sourceOf: Partial<Record<SettingKey, string>> = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source.values)) {
      given[key] = value;
      sourceOf[key as SettingKey] = source.label;
    }
  }
  if (overrides.identityStoreId !== undefined) {
    given.identityStoreId = overrides.identityStoreId;
    sourceOf.identityStoreId = '--identity-store-id';
  }
  if (overrides.tps !== undefined) {
    given.requestsPerSecond = overrides.tps;
    sourceOf.requestsPerSecond = '--tps';
  }
  // The stack requires identityStoreId; locally the emulator's store stands in for it.
  const config = parseProvisionerSettings({ identityStoreId: LOCAL_DEFAULTS.identityStoreId, ...given });

  if (config.queueKind === 'fifo') {
    throw new SettingsFileError(
      `queueKind: "fifo" (from ${sourceOf.queueKind}) is not supported by the local pipeline: its queues, rule target and producers' sends are standard SQS ` +
        '(no MessageGroupId), so it would silently run as "standard". Run locally without queueKind=fifo (the FIFO consumer is covered by test/handler/fifo-queue.test.ts).',
    );
  }

  const notUsed: ResolvedLocalSettings['notUsed'] = [];
  for (const [key, source] of Object.entries(sourceOf) as [SettingKey, string][]) {
    const why = NOT_USED_LOCALLY[key];
    if (why !== undefined) notUsed.push({ key, source, why });
  }
  const applied = (key: SettingKey): boolean => {
    const source = sourceOf[key];
    if (source === undefined) return false;
    if (LOCAL_WAIT_SETTINGS.includes(key) && source === 'cdk.json') {
      notUsed.push({ key, source, why: 'a local wait, kept short (name it in --settings to change it)' });
      return false;
    }
    return true;
  };
  const pick = <K extends SettingKey & keyof ProvisionerConfig, D>(key: K, localDefault: D): ProvisionerConfig[K] | D =>
    applied(key) ? config[key] : localDefault;

  const options: LocalSettingOptions = {
    identityStoreId: pick('identityStoreId', LOCAL_DEFAULTS.identityStoreId),
    requestsPerSecond: pick('requestsPerSecond', LOCAL_DEFAULTS.tps),
    maxConcurrency: pick('maxConcurrency', LOCAL_DEFAULTS.maxConcurrency),
    batchSize: pick('batchSize', LOCAL_DEFAULTS.batchSize),
    functionTimeoutSeconds: pick('functionTimeoutSeconds', LOCAL_DEFAULTS.functionTimeoutSeconds),
    // Not a setting: the stack's redrive policy fixes it (MAX_RECEIVE_COUNT).
    maxReceiveCount: LOCAL_DEFAULTS.maxReceiveCount,
    managedGroupScope: pick('managedGroupScope', LOCAL_DEFAULTS.managedGroupScope),
    maxMembershipRemovalsPerEvent: pick('maxMembershipRemovalsPerEvent', LOCAL_DEFAULTS.maxMembershipRemovalsPerEvent),
    deletionCap: pick('deletionCap', LOCAL_DEFAULTS.deletionCap),
    deletionWindowSeconds: pick('deletionWindowSeconds', LOCAL_DEFAULTS.deletionWindowSeconds),
    idCacheTtlSeconds: pick('idCacheTtlSeconds', LOCAL_DEFAULTS.idCacheTtlSeconds),
    redeliveryBaseDelaySeconds: pick('redeliveryBaseDelaySeconds', LOCAL_DEFAULTS.redeliveryBaseDelaySeconds),
    retrySafetyMarginMs: pick('retrySafetyMarginMs', LOCAL_RETRY_SAFETY_MARGIN_MS),
    maxClockSkewSeconds: pick('maxClockSkewSeconds', LOCAL_DEFAULTS.maxClockSkewSeconds),
    occurredAtFloor: pick('occurredAtFloor', LOCAL_DEFAULTS.occurredAtFloor),
    producers: pick('producers', LOCAL_DEFAULTS.producers),
    operators: pick('operators', LOCAL_DEFAULTS.operators),
    // driftSchedule: no schedule runs locally (npm run drift checks on demand); what it decides
    // here is whether the deployment has the drift function, and so the drift-repair producer.
    drift: driftEnabled(config),
  };
  // queueKind "standard" is what the local pipeline runs: applied, nothing to map.
  applied('queueKind');
  if (options.retrySafetyMarginMs >= options.functionTimeoutSeconds * 1000) {
    // Only the local margin can clash here (a given one was checked with the given timeout).
    options.retrySafetyMarginMs = Math.floor((options.functionTimeoutSeconds * 1000) / 2);
  }
  return { options, config, sourceOf, notUsed, header: settingsHeader(sources, sourceOf, notUsed) };
}

/** "settings: cdk.json (managedGroupScope), --settings team.json (producers, deletionCap); the rest local defaults". */
export function settingsHeader(
  sources: readonly SettingsSource[],
  sourceOf: Partial<Record<SettingKey, string>>,
  notUsed: ResolvedLocalSettings['notUsed'],
): string[] {
  const labels = [...sources.map((source) => source.label), '--identity-store-id', '--tps'];
  const parts = labels.flatMap((label) => {
    const keys = Object.entries(sourceOf).flatMap(([key, source]) => (source === label ? [key] : []));
    return keys.length === 0 ? [] : [`${label} (${keys.join(', ')})`];
  });
  const lines = [parts.length === 0 ? 'settings: local defaults (no cdk.json settings, no --settings)' : `settings: ${parts.join(', ')}; the rest local defaults`];
  if (notUsed.length > 0) lines.push(`not used locally: ${notUsed.map(({ key, source, why }) => `${key} from ${source} (${why})`).join('; ')}`);
  return lines;
}
