/**
 * What an operator command that reads the live world (npm run plan, drift, reconcile) opens: the
 * Identity Store and the state table as ports, with the deployment's runtime configuration, the
 * one its function runs with. Three targets, one set of options (LIVE_TARGET_OPTIONS):
 *
 * - local (default): the store of `npm start` in --local-dir (default <repo>/.local). While npm
 *   start runs, its endpoints (endpoints.json, its lock alive); otherwise its files: the emulator's
 *   identitystore.json loaded into an emulator in this process that never saves back (it works on
 *   a copy in a temporary folder), and dynalite on <local-dir>/dynamodb (opened by cli/audit.ts's
 *   localTarget). The configuration is the one the local pipeline gives its function, built by the
 *   same code (functionEnvironment) from the same settings (cdk.json context, then --settings FILE).
 * - explicit endpoints: --identitystore-endpoint URL --dynamodb-endpoint URL, with the settings as
 *   above and the tables the local pipeline names (LOCAL_NAMES).
 * - a deployed stack: --stack NAME [--region R] [--profile P]: the consumer function's own
 *   environment (Lambda GetFunctionConfiguration; the function is the stack's FunctionName output,
 *   else its one AWS::Lambda::Function resource named like the consumer), parsed by
 *   loadRuntimeConfig: a plan uses exactly the deployed settings.
 *
 * The Identity Store port is the function's own adapter over a client paced at the function's
 * static share of the quota (REQUESTS_PER_SECOND / QUOTA_INSTANCES), so a command that reads
 * takes one instance's share, no more.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { IdentityStoreAdapter, type IdentityStoreCall } from '../lambdas/adapters/identity-store';
import { createIdentityStoreClient } from '../lambdas/adapters/identity-store-client';
import { DynamoDbProcessingState } from '../lambdas/adapters/dynamodb-processing-state';
import type { IdentityStorePort } from '../lambdas/domain/ports';
import { ConfigError, loadRuntimeConfig, staticShareOf, type RuntimeConfig } from '../lambdas/shared/config';
import { ProvisionerConfigError } from '../lib/config';
import { localDynamoDbClient } from '../local/dynalite';
import { startEmulator } from '../local/emulator';
import { resolveUserPath, userDirectory } from '../local/cli/event-file';
import { LocalSettingsError, localQueueArn, planLocalIngestion } from '../local/pipeline/ingestion';
import { functionEnvironment, LOCAL_ACCOUNT_ID, LOCAL_NAMES, LOCAL_REGION } from '../local/pipeline/pipeline';
import { readCdkJsonSettings, readSettingsFile, resolveLocalSettings, SettingsFileError, type SettingsSource } from '../local/pipeline/settings';
import { localTarget, NoLocalPipelineError } from './audit-target';
import { UsageError } from './conventions';
import { stackOutputs } from './stack';

const ROOT = path.join(__dirname, '..');
const CDK_JSON = path.join(ROOT, 'cdk.json');
const DEFAULT_LOCAL_DIR = path.join(ROOT, '.local');
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export type LiveTargetChoice =
  | { kind: 'local'; localDir: string; settingsFile?: string }
  | { kind: 'endpoints'; identityStoreEndpoint: string; dynamodbEndpoint: string; settingsFile?: string }
  | { kind: 'stack'; stackName: string; region?: string; profile?: string };

export interface LiveTarget {
  /** Where the command reads, for its header and its errors: "the npm start store in .local (files)". */
  description: string;
  /** The deployment's runtime configuration, as its function has it. */
  config: RuntimeConfig;
  /** The function's Identity Store adapter, paced at config.REQUESTS_PER_SECOND. */
  identityStore: IdentityStorePort;
  /** The live state table (read it; a command that must not write wraps it, e.g. in what-if ports). */
  state: DynamoDbProcessingState;
  /** The local target's directory. */
  localDir?: string;
  /** A DynamoDB client for the deployment's tables (the idempotency table, the audit table). */
  dynamodb: DynamoDBClient;
  /** The consumer function's name: Powertools prefixes idempotency keys with it. */
  functionName: string;
  /** The queue the bus rule delivers to (a bus producer's events arrive from it). */
  busQueueArn: string;
  /** The region the deployment's queues and bus are in (the envelope's `region`). */
  region: string;
  /** Settings header lines (local and endpoint targets): which settings came from where. */
  settingsHeader: string[];
  /**
   * Local and endpoint targets: each declared producer's principals (who its door lets in). A
   * deployed function's environment does not carry them (only their accounts, in PRODUCERS).
   */
  producerPrincipals?: Record<string, readonly string[]>;
  /** Identity Store calls made through `identityStore` so far (reads only, from a plan). */
  calls(): IdentityStoreCall[];
  close(): Promise<void>;
}

/** parseArgs option specs every live-reading command takes. */
export const LIVE_TARGET_OPTIONS = {
  'local-dir': { type: 'string' },
  settings: { type: 'string' },
  'identitystore-endpoint': { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
} as const;

/** The help block for those options (each command prints it under its own). */
export const LIVE_TARGET_HELP = `Where to read (one of three; the local store by default):
  --local-dir DIR               the store of npm start in DIR (default <repo>/.local): its running
                                endpoints while npm start runs, else its files, opened read-only
                                (the identity store file is loaded into memory and never saved
                                back). A relative path is from the directory you ran npm in
  --identitystore-endpoint URL  a running Identity Store (with --dynamodb-endpoint: a running
  --dynamodb-endpoint URL       DynamoDB holding the local pipeline's tables)
  --settings FILE               with the local store or the endpoints: the deployment settings, as
                                npm start reads them (cdk.json's "context", then FILE over it);
                                pass the same --settings the npm start you read was given
  --stack NAME                  a deployed stack: the settings are its consumer function's own
                                environment (Lambda GetFunctionConfiguration)
  --region R                    with --stack: the AWS region (default: AWS_REGION or your profile's)
  --profile P                   with --stack: the AWS profile; credentials come from the SDK's
                                default chain`;

export type LiveTargetValues = { [K in keyof typeof LIVE_TARGET_OPTIONS]?: string };

/** The target the options name; a UsageError naming the option when they do not fit together. */
export function liveTargetChoiceOf(values: LiveTargetValues, env: NodeJS.ProcessEnv = process.env): LiveTargetChoice {
  const given = (name: keyof LiveTargetValues) => values[name] !== undefined;
  const url = (name: 'identitystore-endpoint' | 'dynamodb-endpoint') => {
    const raw = values[name]!;
    if (!/^https?:\/\/[^\s/]+/.test(raw)) throw new UsageError(`--${name} must be an http(s) URL, got "${raw}"`);
    return raw;
  };
  if (given('stack')) {
    for (const other of ['local-dir', 'identitystore-endpoint', 'dynamodb-endpoint', 'settings'] as const) {
      if (given(other)) throw new UsageError(`--${other} does not go with --stack (a deployed stack brings its own store and settings)`);
    }
    if (values.stack === '') throw new UsageError('--stack needs a stack name');
    return { kind: 'stack', stackName: values.stack!, region: values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION, profile: values.profile };
  }
  if (given('region')) throw new UsageError('--region goes with --stack');
  if (given('profile')) throw new UsageError('--profile goes with --stack');
  if (given('identitystore-endpoint') || given('dynamodb-endpoint')) {
    if (!given('identitystore-endpoint')) throw new UsageError('--dynamodb-endpoint needs --identitystore-endpoint too (a plan reads both)');
    if (!given('dynamodb-endpoint')) throw new UsageError('--identitystore-endpoint needs --dynamodb-endpoint too (a plan reads both)');
    if (given('local-dir')) throw new UsageError('--local-dir does not go with --identitystore-endpoint and --dynamodb-endpoint');
    return { kind: 'endpoints', identityStoreEndpoint: url('identitystore-endpoint'), dynamodbEndpoint: url('dynamodb-endpoint'), settingsFile: values.settings };
  }
  return { kind: 'local', localDir: path.resolve(userDirectory(), values['local-dir'] ?? DEFAULT_LOCAL_DIR), settingsFile: values.settings };
}

/** Opens the target: its ports and its configuration. Close it when done. `command` names the asker in errors. */
export async function openLiveTarget(choice: LiveTargetChoice, command = 'command'): Promise<LiveTarget> {
  switch (choice.kind) {
    case 'local':
      return openLocal(choice.localDir, choice.settingsFile, command);
    case 'endpoints': {
      const dynamodb = localDynamoDbClient(choice.dynamodbEndpoint);
      return assemble({
        description: `the Identity Store at ${choice.identityStoreEndpoint} and the tables at ${choice.dynamodbEndpoint}`,
        identityStoreEndpoint: choice.identityStoreEndpoint,
        dynamodb,
        local: localConfig(choice.settingsFile),
        closers: [async () => dynamodb.destroy()],
      });
    }
    case 'stack':
      return openStack(choice);
  }
}

interface LocalConfig {
  config: RuntimeConfig;
  header: string[];
  principals: Record<string, readonly string[]>;
}

/**
 * The local function's configuration: the settings npm start reads (cdk.json context, then
 * --settings FILE), mapped by resolveLocalSettings and turned into the function's environment by
 * functionEnvironment, then parsed by loadRuntimeConfig as the function parses it.
 */
export function localConfig(settingsFile: string | undefined): LocalConfig {
  try {
    const sources: SettingsSource[] = [];
    const cdkJson = readCdkJsonSettings(CDK_JSON);
    if (cdkJson !== undefined && Object.keys(cdkJson.values).length > 0) sources.push(cdkJson);
    if (settingsFile !== undefined) sources.push(readSettingsFile(resolveUserPath(settingsFile), settingsFile));
    const settings = resolveLocalSettings(sources);
    const plan = planLocalIngestion({ producers: settings.options.producers, operators: settings.options.operators });
    // Endpoints only matter to the function's SDK clients; the configuration names the DLQ by URL.
    const environment = functionEnvironment(
      settings.options,
      {
        identityStoreEndpoint: 'http://127.0.0.1',
        dynamodbEndpoint: 'http://127.0.0.1',
        sqsEndpoint: 'http://127.0.0.1',
        eventBridgeEndpoint: 'http://127.0.0.1',
        deadLetterQueueUrl: `http://127.0.0.1/${LOCAL_ACCOUNT_ID}/${LOCAL_NAMES.deadLetterQueue}`,
      },
      plan,
    );
    const principals = Object.fromEntries(Object.entries(plan.producers).map(([name, producer]) => [name, producer.principals]));
    return { config: loadRuntimeConfig(environment), header: settings.header, principals };
  } catch (error) {
    // A bad setting is how the command was called: a usage error, as for npm start.
    if (error instanceof ProvisionerConfigError || error instanceof SettingsFileError || error instanceof LocalSettingsError || error instanceof ConfigError) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

async function openLocal(localDir: string, settingsFile: string | undefined, command: string): Promise<LiveTarget> {
  const local = localConfig(settingsFile); // settings first: a bad one fails before anything opens
  const closers: (() => Promise<void>)[] = [];
  try {
    // npm start's own emulator always leaves its file (it saves on stop): a state dir with tables
    // and none kept its Identity Store elsewhere (--identitystore-endpoint), and this is not it.
    const stateFile = path.join(localDir, 'identitystore.json');
    const storeElsewhere = () =>
      new UsageError(
        `${localDir} has tables (dynamodb/) but no identitystore.json: the npm start that used it kept its Identity Store elsewhere ` +
          '(--identitystore-endpoint); read that one with --identitystore-endpoint URL --dynamodb-endpoint URL',
      );
    if (!existsSync(path.join(localDir, 'endpoints.json')) && existsSync(path.join(localDir, 'dynamodb')) && !existsSync(stateFile)) throw storeElsewhere();
    let tables;
    try {
      tables = await localTarget(localDir, command);
    } catch (error) {
      if (error instanceof NoLocalPipelineError) throw new UsageError(error.message);
      throw error;
    }
    closers.push(() => tables.close());
    let identityStoreEndpoint = tables.endpointsFile ? runningIdentityStore(tables.endpointsFile) : undefined;
    let where: string;
    if (identityStoreEndpoint !== undefined) {
      where = `the running npm start in ${localDir} (${identityStoreEndpoint}, ${tables.description})`;
    } else {
      // Its files: the identity store loaded from a copy, so nothing is ever saved back to it.
      // (A running npm start that did not publish its Identity Store is read from its file too.)
      if (!existsSync(stateFile)) throw storeElsewhere();
      const scratch = mkdtempSync(path.join(tmpdir(), 'identity-provisioner-read-'));
      closers.push(async () => rmSync(scratch, { recursive: true, force: true }));
      const copy = path.join(scratch, 'identitystore.json');
      copyFileSync(stateFile, copy);
      const emulator = await startEmulator({ identityStoreIds: [local.config.IDENTITY_STORE_ID], tps: 0, statePath: copy });
      closers.push(() => emulator.stop());
      identityStoreEndpoint = emulator.endpoint;
      where = `the npm start store in ${localDir} (files: identitystore.json, dynamodb/)`;
    }
    return assemble({ description: where, identityStoreEndpoint, dynamodb: tables.client, local, closers, localDir });
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

/** The Identity Store endpoint a running npm start published, if it did (older runs did not). */
function runningIdentityStore(endpointsFile: string): string | undefined {
  try {
    const endpoint = (JSON.parse(readFileSync(endpointsFile, 'utf8')) as { identityStoreEndpoint?: unknown }).identityStoreEndpoint;
    return typeof endpoint === 'string' && /^https?:\/\//.test(endpoint) ? endpoint : undefined;
  } catch {
    return undefined;
  }
}

function assemble(parts: {
  description: string;
  identityStoreEndpoint: string;
  dynamodb: DynamoDBClient;
  local: LocalConfig;
  closers: (() => Promise<void>)[];
  localDir?: string;
}): LiveTarget {
  const { config } = parts.local;
  const { identityStore, calls, destroy } = pacedIdentityStore(config, { endpoint: parts.identityStoreEndpoint, credentials: LOCAL_CREDENTIALS, region: LOCAL_REGION });
  return {
    description: parts.description,
    config,
    identityStore,
    state: new DynamoDbProcessingState({ client: parts.dynamodb, tableName: config.STATE_TABLE_NAME }),
    ...(parts.localDir !== undefined && { localDir: parts.localDir }),
    dynamodb: parts.dynamodb,
    functionName: LOCAL_NAMES.functionName,
    busQueueArn: localQueueArn(LOCAL_NAMES.busQueue),
    region: LOCAL_REGION,
    settingsHeader: parts.local.header,
    producerPrincipals: parts.local.principals,
    calls,
    close: async () => {
      destroy();
      await closeAll(parts.closers);
    },
  };
}

/** The function's adapter over a client paced at the function's share of the quota, counting its calls. */
function pacedIdentityStore(config: RuntimeConfig, client: { endpoint?: string; credentials?: typeof LOCAL_CREDENTIALS; region?: string }) {
  const { client: identityStoreClient } = createIdentityStoreClient({
    region: client.region ?? config.IDENTITY_STORE_REGION,
    requestsPerSecond: staticShareOf(config),
    ...(client.endpoint !== undefined && { endpoint: client.endpoint }),
    ...(client.credentials !== undefined && { credentials: client.credentials }),
  });
  const calls: IdentityStoreCall[] = [];
  const identityStore = new IdentityStoreAdapter({ client: identityStoreClient, identityStoreId: config.IDENTITY_STORE_ID, onCall: (call) => calls.push(call) });
  return { identityStore, calls: () => [...calls], destroy: () => identityStoreClient.destroy() };
}

async function openStack(choice: Extract<LiveTargetChoice, { kind: 'stack' }>): Promise<LiveTarget> {
  if (choice.profile !== undefined) process.env.AWS_PROFILE = choice.profile;
  const region = choice.region;
  const outputs = await stackOutputs(choice.stackName, region);
  const functionName = outputs.FunctionName ?? (await consumerFunctionOf(choice.stackName, region));
  const lambda = new LambdaClient({ ...(region && { region }) });
  let environment: Record<string, string>;
  let functionArn: string | undefined;
  try {
    const configuration = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    environment = configuration.Environment?.Variables ?? {};
    functionArn = configuration.FunctionArn;
  } finally {
    lambda.destroy();
  }
  let config: RuntimeConfig;
  try {
    config = loadRuntimeConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(`the function ${functionName} of stack ${choice.stackName}: ${error.message}`);
    throw error;
  }
  const dynamodb = new DynamoDBClient({ ...(region && { region }) });
  const { identityStore, calls, destroy } = pacedIdentityStore(config, {});
  // The bus queue: the stack's QueueArn output; the region: the function's own (its ARN).
  const functionRegion = functionArn?.split(':')[3];
  return {
    description: `stack ${choice.stackName} (function ${functionName}${region ? ` in ${region}` : ''})`,
    config,
    identityStore,
    state: new DynamoDbProcessingState({ client: dynamodb, tableName: config.STATE_TABLE_NAME }),
    dynamodb,
    functionName,
    busQueueArn: outputs.QueueArn ?? '',
    region: functionRegion ?? region ?? config.IDENTITY_STORE_REGION,
    settingsHeader: [`settings: the environment of ${functionName} (stack ${choice.stackName})`],
    calls,
    close: async () => {
      destroy();
      dynamodb.destroy();
    },
  };
}

/** A stack without a FunctionName output: its Lambda function named like the consumer. */
async function consumerFunctionOf(stackName: string, region: string | undefined): Promise<string> {
  const cloudFormation = new CloudFormationClient({ ...(region && { region }) });
  try {
    const resources = (await cloudFormation.send(new DescribeStackResourcesCommand({ StackName: stackName }))).StackResources ?? [];
    const functions = resources.filter((resource) => resource.ResourceType === 'AWS::Lambda::Function' && resource.PhysicalResourceId);
    const consumer = functions.filter((resource) => /consumer/i.test(resource.LogicalResourceId ?? ''));
    const chosen = consumer.length === 1 ? consumer[0] : functions.length === 1 ? functions[0] : undefined;
    if (chosen === undefined) {
      throw new Error(`stack ${stackName} has no FunctionName output and ${functions.length === 0 ? 'no Lambda function' : `${functions.length} Lambda functions`}: name the IdentityProvisioner stack`);
    }
    return chosen.PhysicalResourceId!;
  } finally {
    cloudFormation.destroy();
  }
}

async function closeAll(closers: (() => Promise<void>)[]): Promise<void> {
  for (const close of [...closers].reverse()) await close().catch(() => undefined);
}
