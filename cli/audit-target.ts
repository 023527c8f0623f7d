/**
 * Where the audit commands read (the local store of npm start, a deployed stack or table, any
 * DynamoDB endpoint) and how they open it; shared by `audit`, `audit verify` and the commands that
 * read npm start's store (plan, drift, reconcile).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { localDynamoDbClient, startDynalite } from '../local/dynalite';
import { isPidAlive, LOCK, readLock } from '../local/state-dir';
import { userDirectory } from '../local/cli/event-file';
import { EXIT, UsageError } from './conventions';
import { stackOutputs } from './stack';

export const DEFAULT_AUDIT_TABLE = 'identity-provisioner-audit';

export type TargetChoice =
  | { kind: 'local'; localDir: string }
  | { kind: 'aws'; tableName: string; region: string }
  | { kind: 'stack'; stackName: string; region?: string }
  | { kind: 'endpoint'; endpoint: string; tableName: string; region?: string };

export function chooseTarget(
  values: { table?: string; region?: string; 'dynamodb-endpoint'?: string; 'local-dir'?: string; stack?: string; profile?: string },
  env: NodeJS.ProcessEnv,
): TargetChoice {
  const endpoint = values['dynamodb-endpoint'];
  if (values.profile !== undefined && values.stack === undefined && values.table === undefined) {
    throw new UsageError('--profile goes with --stack or --table (a deployed stack)');
  }
  if (values.stack !== undefined) {
    if (values.table !== undefined) throw new UsageError('--stack and --table are alternatives: the stack names its audit table');
    if (endpoint !== undefined) throw new UsageError('--stack does not go with --dynamodb-endpoint');
    if (values['local-dir'] !== undefined) throw new UsageError('--local-dir does not go with --stack');
    return { kind: 'stack', stackName: values.stack, region: values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION };
  }
  if (endpoint !== undefined) {
    if (!/^https?:\/\/[^\s/]+/.test(endpoint)) throw new UsageError(`--dynamodb-endpoint must be an http(s) URL, got "${endpoint}"`);
    if (values['local-dir'] !== undefined) throw new UsageError('--local-dir does not go with --dynamodb-endpoint');
    return { kind: 'endpoint', endpoint, tableName: values.table ?? DEFAULT_AUDIT_TABLE, region: values.region };
  }
  if (values.table !== undefined) {
    if (values['local-dir'] !== undefined) throw new UsageError('--local-dir does not go with --table');
    const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('--table needs --region (or AWS_REGION)');
    return { kind: 'aws', tableName: values.table, region };
  }
  if (values.region !== undefined) throw new UsageError('--region goes with --stack, --table or --dynamodb-endpoint');
  return { kind: 'local', localDir: path.resolve(userDirectory(), values['local-dir'] ?? path.join(__dirname, '..', '.local')) };
}

export interface OpenTarget {
  /** For npm start's running store: the endpoints.json it was found through. */
  endpointsFile?: string;
  client: DynamoDBClient;
  tableName: string;
  /** For error messages: where we looked. */
  description: string;
  close(): Promise<void>;
}

/** No local pipeline to ask (none running, a stale endpoints.json, no store): exit code 2. */
export class NoLocalPipelineError extends Error {
  constructor(what: string, command = 'audit') {
    super(
      `No local pipeline is running: ${what}.\n` +
        `Start one with \`npm start\` (it keeps its store in .local/, or --state-dir DIR), or point the ${command} elsewhere: ` +
        '--local-dir DIR (another npm start state dir), --dynamodb-endpoint URL, or --stack NAME or --table NAME --region R (a deployed stack).',
    );
    this.name = 'NoLocalPipelineError';
  }
}

const endpointsFileSchema = z.object({ dynamodbEndpoint: z.string().url(), auditTableName: z.string().min(1) });

export async function openTarget(choice: TargetChoice): Promise<OpenTarget> {
  switch (choice.kind) {
    case 'aws': {
      const client = new DynamoDBClient({ region: choice.region });
      return { client, tableName: choice.tableName, description: `${choice.tableName} in ${choice.region}`, close: async () => client.destroy() };
    }
    case 'stack': {
      const outputs = await stackOutputs(choice.stackName, choice.region);
      const tableName = outputs.AuditTableName;
      if (!tableName) throw new Error(`stack ${choice.stackName} has no AuditTableName output: name the IdentityProvisioner stack or its state stack`);
      const client = new DynamoDBClient({ ...(choice.region && { region: choice.region }) });
      return {
        client,
        tableName,
        description: `${tableName} (stack ${choice.stackName}${choice.region ? ` in ${choice.region}` : ''})`,
        close: async () => client.destroy(),
      };
    }
    case 'endpoint':
      return endpointTarget(choice.endpoint, choice.tableName, choice.region);
    case 'local':
      return localTarget(choice.localDir);
  }
}

function endpointTarget(endpoint: string, tableName: string, region?: string): OpenTarget {
  const client = region
    ? new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
    : localDynamoDbClient(endpoint);
  return { client, tableName, description: `${tableName} at ${endpoint}`, close: async () => client.destroy() };
}

/** npm start's store: its running endpoint if it wrote one, else its files opened here (also for plan, drift, reconcile: `command` names the asker). */
export async function localTarget(localDir: string, command = 'audit'): Promise<OpenTarget> {
  const endpointsFile = path.join(localDir, 'endpoints.json');
  // The run that holds the state dir (npm start's lock: pid, start time, command).
  const lock = readLock(localDir);
  if (existsSync(endpointsFile)) {
    if (lock !== undefined && !isPidAlive(lock.pid)) {
      throw new NoLocalPipelineError(`${endpointsFile} was left by an npm start that did not stop cleanly (pid ${lock.pid}, since ${lock.startedAt}, is no longer running)`, command);
    }
    let content: unknown;
    try {
      content = JSON.parse(readFileSync(endpointsFile, 'utf8'));
    } catch {
      content = undefined;
    }
    const parsed = endpointsFileSchema.safeParse(content);
    if (!parsed.success) throw new NoLocalPipelineError(`${endpointsFile} is not a valid endpoints file (left by an npm start that did not stop cleanly?)`, command);
    return { ...endpointTarget(parsed.data.dynamodbEndpoint, parsed.data.auditTableName), endpointsFile };
  }
  if (lock !== undefined && isPidAlive(lock.pid)) {
    throw new NoLocalPipelineError(`an npm start (pid ${lock.pid}, since ${lock.startedAt}) holds ${localDir} but has not published ${endpointsFile} yet; try again in a moment`, command);
  }
  const dataDir = path.join(localDir, 'dynamodb');
  if (!existsSync(dataDir)) {
    throw new NoLocalPipelineError(`no endpoints.json and no local store in ${localDir} (its ${LOCK} says nothing runs there)`, command);
  }
  const dynalite = await startDynalite({ path: dataDir });
  const target = endpointTarget(dynalite.endpoint, DEFAULT_AUDIT_TABLE);
  return {
    ...target,
    description: `${DEFAULT_AUDIT_TABLE} in ${dataDir}`,
    close: async () => {
      await target.close();
      await dynalite.stop();
    },
  };
}

/**
 * What a failure reading the target means, in words, and its exit code: a missing table or an
 * unreachable endpoint fails (1); npm start's endpoints.json naming a pipeline that has stopped
 * means nothing is running (2, as when there is no local pipeline at all).
 */
export function targetFailure(error: unknown, target: OpenTarget | undefined): { message: string; exitCode: number } {
  const err = error as Error & { code?: string; cause?: { code?: string } };
  const refused = err.code === 'ECONNREFUSED' || err.cause?.code === 'ECONNREFUSED';
  if (err.name === 'ResourceNotFoundException') return { message: `Audit table not found: ${target?.description ?? ''}`, exitCode: EXIT.failed };
  if (refused && target?.endpointsFile) {
    const message = new NoLocalPipelineError(`${target.endpointsFile} names ${target.description}, which does not answer: the npm start that wrote it has stopped`).message;
    return { message, exitCode: EXIT.usage };
  }
  if (refused) {
    return { message: `Cannot reach ${target?.description ?? 'DynamoDB'}: is it running? (a stale endpoints.json is left by an npm start that has stopped)`, exitCode: EXIT.failed };
  }
  return { message: `${err.name}: ${err.message}`, exitCode: EXIT.failed };
}
