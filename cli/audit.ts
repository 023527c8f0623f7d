/**
 * npm run audit -- <command> [options]: answers audit questions from the audit table.
 * Reads the local store of `npm start` by default, a deployed stack with --stack NAME (its
 * AuditTableName output) or --table NAME, or any DynamoDB endpoint with --dynamodb-endpoint.
 * Exit codes (cli/conventions.ts): 0 ok, 1 the operation failed, 2 usage error.
 */
import './quiet-sdk';
import {
  DynamoDbAuditQuery,
  InvalidAuditQueryError,
  type AuditQueryResult,
} from '../lambdas/adapters/dynamodb-audit-query';
import { closest, EXIT, exitCodesHelp, parseCommandLine, parseTime, projectVersion, runCommand, UsageError } from './conventions';
import { chooseTarget, NoLocalPipelineError, openTarget, targetFailure, type OpenTarget, type TargetChoice } from './audit-target';
import { verifyMain } from './audit-verify';
import { groupsOfAnswer, membersAnswer, personAnswer, type AnswerContext, type Printed } from './audit-answers';
import type { PersonQuery } from './audit-history';
import { formatRecords, OUTPUT_FORMATS, type OutputFormat } from './format';

export { UsageError, parseTime };
export { chooseTarget, DEFAULT_AUDIT_TABLE, localTarget, NoLocalPipelineError, openTarget, type OpenTarget, type TargetChoice } from './audit-target';

const DEFAULT_LIMIT = 200;

const HELP = `Usage: npm run audit -- <command> [options]

Commands:
  user <userName | UserId>        a person's whole history, across renames: every record
                                  naming their UserId or filed under a name they had
                                  (any case); each row shows the name at that time
  user --external-id ISSUER/ID    the same, for the person(s) the HR system's id named
  members <displayName> [--at T]  who was in the group at T (default now): when each was
                                  added, by which event, producer and actor
  groups-of <userName | UserId> [--at T]
                                  the groups the person was in at T, the same way
  group <displayName>             everything recorded about a group and its memberships
  event <eventId>                 one event: each attempt's outcome and its writes
  changes --since T [--until T]   Identity Store writes and DRIFT records in a window
  failures --since T [--until T]  events that ended FAILED or REJECTED, with reasons
  producer <name> --since T [--until T]
                                  everything one verified producer caused in a window
                                  (as AWS vouched for it; "unverified" for refused senders)
  actor <name> --since T [--until T]
                                  everything events claiming this actor caused in a window
                                  (the actor is what the sender wrote: a claim, not a proof)
  verify [--since T]              recompute the trail against its digests: every record
                                  changed, removed or added after its digest (exit 1)
                                  (npm run audit -- verify --help)

Options:
  --format table|json|csv|html
                            output format (default table; json and csv carry every field;
                            html: one self-contained page to attach to a ticket)
  --at T                    members, groups-of: the point in time (default now)
  --external-id ISSUER/ID   user, groups-of: find the person by an ExternalId
  --limit N                 keep the newest N records (default ${DEFAULT_LIMIT})
  --since T, --until T      ISO-8601 (2024-05-01, 2024-05-01T09:00:00Z) or relative
                            to now (30m, 24h, 7d); the window is [since, until)
  --stack NAME              a deployed stack: the audit table is its AuditTableName
                            output (the IdentityProvisioner stack or its state stack)
  --table NAME              the audit table of a deployed stack, by name
  --region R                with --stack or --table: the AWS region (default: AWS_REGION
                            or your profile's; --table needs one)
  --profile P               with --stack or --table: the AWS profile (sets AWS_PROFILE);
                            credentials come from the SDK's default chain
  --dynamodb-endpoint URL   any other DynamoDB endpoint (local credentials)
  --local-dir DIR           where npm start keeps its state (default <repo>/.local)
  --page-size N             items per DynamoDB page (default: DynamoDB's own)
  -h, --help                this text
  --version                 the version

Without --stack, --table or --dynamodb-endpoint the local store of npm start is read:
the endpoint in <local-dir>/endpoints.json when npm start is running, else the files
in <local-dir>/dynamodb. Times are printed in UTC. The output has no colours.

${exitCodesHelp({
  failed: 'the audit table is missing or does not answer, the stack has no AuditTableName output, AWS refused',
  usage: 'a bad option, command or time; a query the table cannot answer; no local pipeline running and no local store (it says how to start one)',
})}
`;

const COMMANDS = ['user', 'group', 'event', 'changes', 'failures', 'producer', 'actor', 'members', 'groups-of'] as const;
type Command = (typeof COMMANDS)[number];
const NEEDS_SUBJECT: Record<Command, string | undefined> = {
  user: 'userName or UserId (or --external-id ISSUER/ID)',
  'groups-of': 'userName or UserId (or --external-id ISSUER/ID)',
  members: 'group displayName',
  group: 'displayName',
  event: 'eventId',
  producer: 'producer name',
  actor: 'actor name',
  changes: undefined,
  failures: undefined,
};
const WINDOWED: readonly Command[] = ['changes', 'failures', 'producer', 'actor'];
/** The commands about a person, which --external-id can name instead of the subject. */
const BY_PERSON: readonly Command[] = ['user', 'groups-of'];
const AT_A_TIME: readonly Command[] = ['members', 'groups-of'];
const EXTERNAL_ID_MAX_LENGTH = 256 + 1 + 256;

export interface AuditRequest {
  command: Command;
  subject?: string;
  /** --external-id ISSUER/ID, instead of the subject (user, groups-of). */
  externalId?: string;
  /** members, groups-of: the point in time (now when absent). */
  at?: Date;
  since?: Date;
  until?: Date;
  format: OutputFormat;
  limit: number;
  pageSize?: number;
  target: TargetChoice;
  /** --profile: the AWS profile for --stack or --table. */
  profile?: string;
}

const OPTIONS = {
  format: { type: 'string' },
  limit: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  at: { type: 'string' },
  'external-id': { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  'local-dir': { type: 'string' },
  'page-size': { type: 'string' },
  stack: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** Parses the command line: the request, or 'help' / 'version' when those were asked for. */
export function parseAuditArgs(argv: string[], now: Date, env: NodeJS.ProcessEnv = process.env): AuditRequest | 'help' | 'version' {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (values.help) return 'help';
  if (values.version) return 'version';

  const [commandName, subject, ...extra] = positionals;
  if (commandName === undefined) throw new UsageError(`missing command: ${[...COMMANDS, 'verify'].join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(commandName)) {
    const guess = closest(commandName, [...COMMANDS, 'verify']);
    throw new UsageError(`unknown command "${commandName}"${guess ? ` (did you mean ${guess}?)` : ''}`);
  }
  const command = commandName as Command;

  const externalId = values['external-id'];
  if (externalId !== undefined) {
    if (!BY_PERSON.includes(command)) throw new UsageError(`--external-id applies to ${BY_PERSON.join(', ')}, not to ${command}`);
    if (subject !== undefined) throw new UsageError(`${command} takes a name or --external-id, not both`);
    // The API's Issuer and Id are 1..256 characters each, with no whitespace; every slash is a
    // place the two may meet (cli/audit-history.ts tries each), so the length bounds the queries.
    if (!/^[^/\s]+(\/[^\s]*)?\/[^/\s]+$/.test(externalId) || externalId.length > EXTERNAL_ID_MAX_LENGTH) {
      throw new UsageError(`--external-id must be ISSUER/ID (each 1..256 characters, no whitespace), got "${externalId.slice(0, 80)}${externalId.length > 80 ? '…' : ''}"`);
    }
  }
  const subjectName = NEEDS_SUBJECT[command];
  if (subjectName !== undefined && externalId === undefined && (subject === undefined || subject === '')) {
    throw new UsageError(`${command} needs a ${subjectName}`);
  }
  const unexpected = subjectName === undefined ? positionals.slice(1) : extra;
  if (unexpected.length > 0) throw new UsageError(`unexpected argument "${unexpected[0]}"`);
  if (values.at !== undefined && !AT_A_TIME.includes(command)) throw new UsageError(`--at applies to ${AT_A_TIME.join(', ')}, not to ${command}`);
  const at = values.at === undefined ? undefined : parseTime(values.at, now, '--at');

  const windowed = WINDOWED.includes(command);
  if (!windowed && (values.since !== undefined || values.until !== undefined)) {
    throw new UsageError(`--since/--until apply to ${WINDOWED.join(', ')}, not to ${command}`);
  }
  if (windowed && values.since === undefined) throw new UsageError(`${command} needs --since`);
  const since = values.since === undefined ? undefined : parseTime(values.since, now, '--since');
  const until = values.until === undefined ? undefined : parseTime(values.until, now, '--until');
  if (since && since.getTime() >= (until ?? now).getTime()) {
    throw new UsageError(`--since must be before ${until ? '--until' : 'now'}`);
  }

  const format = values.format ?? 'table';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    const guess = closest(format, OUTPUT_FORMATS);
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got "${format}"${guess ? ` (did you mean ${guess}?)` : ''}`);
  }

  return {
    command,
    subject: subjectName === undefined ? undefined : subject,
    externalId,
    at,
    since,
    until,
    format: format as OutputFormat,
    limit: values.limit === undefined ? DEFAULT_LIMIT : positiveInteger(values.limit, '--limit'),
    pageSize: values['page-size'] === undefined ? undefined : positiveInteger(values['page-size'], '--page-size'),
    target: chooseTarget(values, env),
    profile: values.profile,
  };
}

function positiveInteger(text: string, option: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${option} must be a whole number >= 1, got "${text}"`);
  return Number(text);
}

/** The command's answer, printed in the requested format. */
async function answer(query: DynamoDbAuditQuery, request: AuditRequest, context: AnswerContext): Promise<Printed> {
  const person: PersonQuery = request.externalId !== undefined ? { kind: 'external-id', text: request.externalId } : { kind: 'user', text: request.subject! };
  switch (request.command) {
    case 'user':
      return personAnswer(query, person, context);
    case 'groups-of':
      return groupsOfAnswer(query, person, request.at ?? context.generatedAt, context);
    case 'members':
      return membersAnswer(query, request.subject!, request.at ?? context.generatedAt, context);
    default: {
      const result = await recordsOf(query, request.command, request);
      const title = `Audit records: ${request.command}${request.subject === undefined ? '' : ` ${request.subject}`}`;
      return { text: formatRecords(result.records, request.format, context.width, { title, generatedAt: context.generatedAt, source: context.source }), truncated: result.truncated };
    }
  }
}

/** The commands that answer with the records of one key or window, as the trail keeps them. */
type RecordCommand = Exclude<Command, 'user' | 'groups-of' | 'members'>;

function recordsOf(query: DynamoDbAuditQuery, command: RecordCommand, request: AuditRequest): Promise<AuditQueryResult> {
  const limit = { limit: request.limit };
  const window = { since: request.since!, until: request.until, limit: request.limit };
  switch (command) {
    case 'group':
      return query.groupHistory(request.subject!, limit);
    case 'event':
      return query.eventHistory(request.subject!, limit);
    case 'changes':
      return query.changes(window);
    case 'failures':
      return query.failures(window);
    case 'producer':
      return query.byProducer(request.subject!, window);
    case 'actor':
      return query.byActor(request.subject!, window);
  }
}


export async function main(argv: string[]): Promise<number> {
  // `verify` checks the trail against its digests: its own options and report (cli/audit-verify.ts).
  if (argv[0] === 'verify') return verifyMain(argv.slice(1));
  const request = parseAuditArgs(argv, new Date()); // a UsageError: exit 2 (runCommand)
  if (request === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (request === 'version') {
    process.stdout.write(`${projectVersion()}\n`);
    return EXIT.ok;
  }
  if (request.profile !== undefined) process.env.AWS_PROFILE = request.profile;

  let target: OpenTarget | undefined;
  try {
    target = await openTarget(request.target);
    const query = new DynamoDbAuditQuery({ client: target.client, tableName: target.tableName, pageSize: request.pageSize });
    const width = process.stdout.isTTY ? Math.max(80, process.stdout.columns ?? 80) : 80;
    const result = await answer(query, request, { format: request.format, width, limit: request.limit, source: target.description, generatedAt: new Date() });
    process.stdout.write(result.text);
    if (result.truncated) {
      process.stderr.write(`audit: showing the newest ${request.limit} records; older ones exist (raise --limit or narrow the window)\n`);
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof InvalidAuditQueryError || error instanceof NoLocalPipelineError) {
      process.stderr.write(`audit: ${error.message}\n`);
      return EXIT.usage;
    }
    const failure = targetFailure(error, target);
    process.stderr.write(`audit: ${failure.message}\n`);
    return failure.exitCode;
  } finally {
    await target?.close();
  }
}

if (require.main === module) runCommand('audit', () => main(process.argv.slice(2)));
