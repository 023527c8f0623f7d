/**
 * npm run drift -- [--repair] [options]: does the managed scope still hold what this service last
 * applied? Reads the live Identity Store and state table (cli/live-target.ts), runs the drift
 * detection the scheduled function runs (lambdas/domain/drift.ts), records a DRIFT record per
 * finding in the audit trail, and prints the findings. With --repair it also sends the events that
 * put them back, as the built-in producer drift-repair (cli/deliver.ts): ordinary events, applied,
 * checked and audited by the pipeline like any producer's.
 *
 * Against a deployed stack (--stack NAME) it reads and writes nothing itself: only the service's
 * functions may append to the audit trail and only the drift function may send as drift-repair.
 * It invokes the stack's drift function (its DriftFunctionName output; Lambda Invoke,
 * RequestResponse, with the caller's credentials), whose role reads, records, publishes and, with
 * the deployment's driftAction repair, repairs; and prints the summary it returns (counts and ids).
 *
 * Exit codes as `terraform plan -detailed-exitcode` (and npm run plan): 0 no drift, 1 error,
 * 2 drift found. A usage error is an error (1), never 2: a script that acts on "drift found" must
 * not act on a mistyped option. Usage errors say so on stderr (`drift: usage error: ...`).
 */
import './quiet-sdk';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { DynamoDbAuditLog } from '../lambdas/adapters/dynamodb-audit-log';
import {
  DRIFT_KINDS,
  detectDrift,
  type DriftKind,
  type DriftReport,
  type SeenFinding,
} from '../lambdas/domain/drift';
import type { IdentityChange } from '../lambdas/domain/identity-change';
// The built-in producer repairs are sent as, declared by the deployment and the local pipeline.
import { DRIFT_REPAIR_PRODUCER } from '../lambdas/shared/producers';
import { closest, DETAILED_EXIT, detailedExitCodesHelp, detailedUsageErrorText, parseCommandLine, projectVersion, terminalWidth, UsageError, wrap, runDetailedCommand } from './conventions';
import { shownValue } from './format';
import { deliverEvents, type DeliveryChoice, type DeliveryReport } from './deliver';
import { LIVE_TARGET_HELP, LIVE_TARGET_OPTIONS, liveTargetChoiceOf, openLiveTarget, type LiveTarget, type LiveTargetChoice } from './live-target';
import { stackOutputs } from './stack';

/** terraform plan -detailed-exitcode. */


const FORMATS = ['table', 'json'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `Usage: npm run drift -- [--repair] [options]

Compares the managed scope of the Identity Store (the groups this service manages, their members,
and the attributes it last set on the users it manages) with what the service last applied, as
its state table records it. Each difference is printed with when it was first seen and the
applied change it departs from, and recorded in the audit trail as a DRIFT record
(npm run audit -- user NAME, group NAME, changes --since T show them).

What counts as drift:
  attribute differs    an attribute the service's last change of the user set has another value
  user missing         a user the service created or updated no longer exists
  unexpected member    a member of a managed group whose membership the service's last change
                       of it (a group list, membership.removed, a deletion) left out
  unexplained member   a member of a managed group no change of the service put there
  member missing       a member the service put in a managed group is not there
  description differs  a managed group's description is not the one the service set
  group missing        a group the service created or updated no longer exists
Groups outside the managed scope never count.

Options:
  --repair              also put things back: send the events that undo each finding
                        (user.upserted with the applied attributes, membership.removed,
                        membership.added, group.upserted with the description) as the producer
                        drift-repair, through its door, like any producer's events. Each is dated
                        at the applied change it puts back: a newer change supersedes it, and it
                        supersedes no producer's event. Reported but never repaired:
                          an unexplained member (nothing was applied to go back to),
                          a user renamed outside the service (an event under the old name would
                            make a new user),
                          a missing user (it may be a leaver: send user.upserted if they should
                            exist),
                          a missing group (made again, it would not have its members back).
                        Not with --stack: there the drift function repairs, when the deployment
                        sets driftAction: repair
  --format table|json   table (default) for people; json has every field of every finding
  -h, --help            this text
  --version             the version

${LIVE_TARGET_HELP}

Locally, --repair sends to the npm start running on --local-dir, or runs npm start on it with the
repairs as its events file when none is running.

With --stack NAME this command reads and writes nothing itself: in a deployed stack only the
service's own functions may append to the audit trail, and only the drift function may send as
drift-repair. It runs the stack's drift function now (its DriftFunctionName output; Lambda
Invoke, RequestResponse, with your credentials: you need lambda:InvokeFunction on it), waits for
it (a run may take minutes: it waits while events are being processed) and prints what it
returns: findings by kind, how many are new, repairs sent. The function's role reads the store,
records the DRIFT records and, when the deployment sets driftAction: repair, sends the repairs.
Names and values are not returned (the summary is logged); see them with
  npm run audit -- changes --since 1h --stack NAME
--repair does not go with --stack (set driftAction: repair in the deployment, then --stack
repairs); a stack deployed with driftSchedule "off" has no drift function (an error, exit 1).
--format json prints the function's summary as it returned it.

${detailedExitCodesHelp({
  none: ['no drift', 'the managed scope holds what the service applied (or nothing was applied yet)'],
  error:
    'no local store, the store or the tables did not answer, or a repair could not be delivered; with --stack: no drift function (driftSchedule "off"), the invocation was refused, the function failed or a repair it sent failed',
  changes: ['drift found', 'with --repair, or --stack where driftAction is repair: and the repairs were sent; run it again to see it gone'],
})}

Personal data (names, attribute values) is printed on stdout, for you; nothing is logged.
`;

const OPTIONS = {
  repair: { type: 'boolean' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  ...LIVE_TARGET_OPTIONS,
} as const;

interface DriftRequest {
  repair: boolean;
  format: Format;
  choice: LiveTargetChoice;
}

export function parseDriftArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): DriftRequest | 'help' | 'version' {
  const { values } = parseCommandLine(argv, OPTIONS, false);
  if (values.help) return 'help';
  if (values.version) return 'version';
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) {
    const guess = closest(format, FORMATS);
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"${guess ? ` (did you mean ${guess}?)` : ''}`);
  }
  const { repair, format: _format, help: _help, version: _version, ...target } = values;
  const choice = liveTargetChoiceOf(target, env);
  if (repair === true && choice.kind === 'stack') throw new UsageError(STACK_REPAIR_REFUSED);
  return { repair: repair === true, format: format as Format, choice };
}

export const STACK_REPAIR_REFUSED =
  '--repair does not go with --stack: in a deployed stack only the drift function may send repairs (as drift-repair) ' +
  'and append to the audit trail, and it repairs when the deployment sets driftAction: repair; ' +
  'deploy with driftAction: repair and run --stack without --repair, which then repairs';

export async function main(argv: string[], out: (text: string) => void = (text) => process.stdout.write(text)): Promise<number> {
  let target: LiveTarget | undefined;
  let request: DriftRequest | 'help' | 'version';
  try {
    request = parseDriftArgs(argv);
  } catch (error) {
    return failed(error);
  }
  if (request === 'help') {
    out(HELP);
    return DETAILED_EXIT.none;
  }
  if (request === 'version') {
    out(`${projectVersion()}\n`);
    return DETAILED_EXIT.none;
  }
  if (request.choice.kind === 'stack') {
    try {
      return await runDeployed(request.choice, request.format, out);
    } catch (error) {
      return failed(error);
    }
  }
  try {
    target = await openLiveTarget(request.choice, 'drift');
    const { config } = target;
    const audit = new DynamoDbAuditLog({ client: target.dynamodb, tableName: config.AUDIT_TABLE_NAME, retentionDays: config.AUDIT_RETENTION_DAYS });
    const report = await detectDrift(
      {
        identityStore: target.identityStore,
        state: target.state,
        applied: target.state,
        memory: target.state,
        audit,
        // identity.drift.detected is the scheduled function's (its alarm and subscribers); an operator looking is not a run to announce.
        publisher: { publishDrift: async () => undefined },
        clock: { now: () => new Date() },
        // Paced by the target's limiter already; an operator's run does not wait for the queues.
        yieldToEvents: async () => undefined,
      },
      { identityStoreId: config.IDENTITY_STORE_ID, managedGroupScope: config.MANAGED_GROUP_SCOPE, action: request.repair ? 'repair' : 'report' },
    );
    const description = target.description;
    const header = target.settingsHeader;
    const calls = target.calls().length;
    const identityStoreId = config.IDENTITY_STORE_ID;
    // Close before delivering: locally, npm start run for the repairs opens the same store files.
    await target.close();
    target = undefined;

    let delivery: DeliveryReport | undefined;
    if (request.repair && report.repair && report.repair.events.length > 0) {
      delivery = await deliver(report.repair.events, request.choice, identityStoreId);
      Object.assign(report.repair, repairOutcome(report.repair.events, delivery));
      delete report.repair.skipped;
    }
    if (request.format === 'json') out(`${JSON.stringify(jsonReport(report, description, delivery), null, 2)}\n`);
    else out(renderDrift(report, { description, header, calls, delivery }, terminalWidth()));
    if (report.repair && report.repair.failed.length > 0) return DETAILED_EXIT.error;
    return report.findings.length > 0 ? DETAILED_EXIT.changes : DETAILED_EXIT.none;
  } catch (error) {
    return failed(error);
  } finally {
    await target?.close();
  }
}

function failed(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError) process.stderr.write(detailedUsageErrorText('drift', message));
  else process.stderr.write(`drift: ${message}\n`);
  return DETAILED_EXIT.error;
}

/** Where the repairs go: the same place the drift was read from. */
function deliveryChoiceOf(choice: LiveTargetChoice, identityStoreId: string): { choice: DeliveryChoice; cleanup?: () => void } {
  switch (choice.kind) {
    case 'local':
      return { choice: { kind: 'local', localDir: choice.localDir, ...(choice.settingsFile !== undefined && { settingsFile: choice.settingsFile }) } };
    case 'endpoints': {
      // npm start needs a state dir of its own for its build and logs; the store is the endpoints'.
      const localDir = mkdtempSync(path.join(tmpdir(), 'identity-provisioner-drift-'));
      return {
        choice: {
          kind: 'local',
          localDir,
          identityStoreEndpoint: choice.identityStoreEndpoint,
          dynamodbEndpoint: choice.dynamodbEndpoint,
          identityStoreId,
          ...(choice.settingsFile !== undefined && { settingsFile: choice.settingsFile }),
        },
        cleanup: () => rmSync(localDir, { recursive: true, force: true }),
      };
    }
    case 'stack':
      // Refused by parseDriftArgs: the deployed drift function repairs, never the operator.
      throw new UsageError(STACK_REPAIR_REFUSED);
  }
}

async function deliver(events: IdentityChange[], choice: LiveTargetChoice, identityStoreId: string): Promise<DeliveryReport> {
  const { choice: deliveryChoice, cleanup } = deliveryChoiceOf(choice, identityStoreId);
  try {
    // npm start's own report goes to stderr: stdout is this command's (its --format json above all).
    return await deliverEvents(events, { producer: DRIFT_REPAIR_PRODUCER }, deliveryChoice, { stdout: process.stderr });
  } finally {
    cleanup?.();
  }
}

/** Which repairs were delivered, by event id, from what the delivery reported. */
export function repairOutcome(events: IdentityChange[], delivery: DeliveryReport): { sent: number; failed: { id: string; reason: string }[] } {
  const idAt = (index: number) => events[index]?.id;
  const failed = [
    ...delivery.refused.map((r) => ({ id: idAt(r.index), reason: `${r.code}: ${r.reason}` })),
    ...delivery.failed.map((f) => ({ id: idAt(f.index), reason: f.reason })),
  ].map((f) => ({ id: f.id ?? '(unknown)', reason: f.reason }));
  if (!delivery.delivered && failed.length === 0) {
    const why = delivery.exitCode !== undefined ? `npm start exited ${delivery.exitCode}` : 'not delivered';
    return { sent: 0, failed: events.map((event) => ({ id: event.id, reason: why })) };
  }
  return { sent: events.length - failed.length, failed };
}

const KIND_LABEL: Record<DriftKind, string> = {
  'attribute-differs': 'attribute differs',
  'user-missing': 'user missing',
  'unexpected-member': 'unexpected member',
  'unexplained-member': 'unexplained member',
  'member-missing': 'member missing',
  'description-differs': 'description differs',
  'group-missing': 'group missing',
};

/** What differs, with the values (stdout is for the operator; nothing here is logged). */
export function whatDiffers(finding: SeenFinding): string {
  const group = finding.groupDisplayName ?? finding.groupId ?? '';
  switch (finding.kind) {
    case 'attribute-differs':
    case 'description-differs':
      return `${finding.path}: ${shownValue(finding.expected)} applied, ${shownValue(finding.actual)} found`;
    case 'user-missing':
      return 'deleted outside this service';
    case 'unexpected-member':
      return `in ${group}: this service's last change left them out`;
    case 'unexplained-member':
      return `in ${group}: not put there by this service`;
    case 'member-missing':
      return `not in ${group}: this service put them there`;
    case 'group-missing':
      return 'deleted outside this service';
  }
}

interface RenderContext {
  description: string;
  header: readonly string[];
  calls: number;
  delivery?: DeliveryReport;
}

const COLUMNS = ['KIND', 'SUBJECT', 'FIRST SEEN (UTC)', 'APPLIED BY', 'WHAT DIFFERS'] as const;
/** Below this the last column would be a sliver: the findings are printed as blocks instead. */
const MIN_WHAT_WIDTH = 24;

/** The findings as a table; the last column wraps under itself and is never cut. */
export function renderDrift(report: DriftReport, context: RenderContext, width: number): string {
  const lines: string[] = [];
  const push = (text: string, indent = 0) => {
    for (const line of wrap(text, Math.max(20, width - indent))) lines.push(`${' '.repeat(indent)}${line}`);
  };
  push(`drift: ${context.description}`);
  for (const line of context.header) push(line);
  lines.push('');
  if (report.appliedFacts === 0) {
    push('No applied facts: the state table holds nothing this service applied (nothing applied yet, or watermarks from before drift detection, which carry none). Nothing to compare with.');
  } else if (report.findings.length === 0) {
    push('No drift: the managed scope holds what this service applied.');
  } else {
    const rows = report.findings.map((finding) => [
      KIND_LABEL[finding.kind],
      finding.userName ?? finding.userId ?? finding.groupDisplayName ?? finding.groupId ?? '-',
      finding.firstSeen.replace(/\.\d{3}Z$/, 'Z'),
      finding.departsFrom?.eventId ?? '-',
      whatDiffers(finding),
    ]);
    const widths = COLUMNS.slice(0, -1).map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
    const lead = widths.reduce((sum, w) => sum + w + 2, 0);
    if (width - lead >= MIN_WHAT_WIDTH) {
      for (const row of [[...COLUMNS], ...rows]) {
        const [first = '', ...rest] = wrap(row[4]!, width - lead);
        lines.push(`${row.slice(0, 4).map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}  ${first}`.trimEnd());
        for (const line of rest) lines.push(`${' '.repeat(lead)}${line}`);
      }
    } else {
      // Too narrow for columns: one block per finding, still never cut.
      for (const [kind, subject, firstSeen, appliedBy, what] of rows) {
        push(`${kind}: ${subject}`);
        push(what!, 4);
        push(`first seen ${firstSeen}, applied by ${appliedBy}`, 4);
      }
    }
  }
  lines.push('');
  const counted = DRIFT_KINDS.filter((kind) => report.counts[kind] > 0).map((kind) => `${report.counts[kind]} ${KIND_LABEL[kind]}`);
  push(
    `Drift: ${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}${counted.length > 0 ? ` (${counted.join(', ')})` : ''}, ` +
      `${report.newFindings} new. Checked ${report.groupsChecked} managed group${report.groupsChecked === 1 ? '' : 's'} and ${report.usersChecked} user${report.usersChecked === 1 ? '' : 's'} ` +
      `against ${report.appliedFacts} applied fact${report.appliedFacts === 1 ? '' : 's'} (${context.calls} Identity Store calls).` +
      (report.findings.length > 0 ? ' Each finding is recorded in the audit trail (DRIFT).' : ''),
  );
  const repair = report.repair;
  if (repair) {
    if (repair.events.length > 0) {
      push(
        `Repair: ${repair.sent} of ${repair.events.length} event${repair.events.length === 1 ? '' : 's'} delivered as ${DRIFT_REPAIR_PRODUCER}` +
          `${context.delivery ? ` (${context.delivery.description})` : ''}: ${repair.events.map((event) => `${event.type} ${event.id}`).join(', ')}.`,
      );
      for (const failure of repair.failed) push(`not delivered: ${failure.id}: ${failure.reason}`, 2);
    } else if (report.findings.length > 0) {
      push('Repair: nothing to send.');
    }
    for (const skipped of repair.notRepaired) push(`not repaired: ${skipped.key}: ${skipped.reason}`, 2);
  } else if (report.findings.length > 0) {
    push('Run with --repair to put them back (through events, as the producer drift-repair).');
  }
  return `${lines.join('\n')}\n`;
}

/** The JSON output: every field of every finding, the counts, and the repair. */
export function jsonReport(report: DriftReport, description: string, delivery?: DeliveryReport) {
  return {
    target: description,
    drift: report.findings.length > 0,
    at: report.at,
    identityStoreId: report.identityStoreId,
    action: report.action,
    appliedFacts: report.appliedFacts,
    groupsChecked: report.groupsChecked,
    usersChecked: report.usersChecked,
    counts: report.counts,
    newFindings: report.newFindings,
    findings: report.findings,
    ...(report.repair && {
      repair: {
        events: report.repair.events,
        sent: report.repair.sent,
        failed: report.repair.failed,
        notRepaired: report.repair.notRepaired,
        ...(delivery && { via: delivery.via, description: delivery.description }),
      },
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// --stack: the deployed drift function runs, this command only invokes it and prints its summary.
// ---------------------------------------------------------------------------------------------

type StackChoice = Extract<LiveTargetChoice, { kind: 'stack' }>;

const count = z.number().int().nonnegative();
/**
 * What the function returns (DriftRunSummary, lambdas/handlers/drift-detector.ts; the stack test
 * checks the two fit). The fields an older deployment may lack are optional.
 */
const runSummarySchema = z.object({
  at: z.string(),
  identityStoreId: z.string().optional(),
  action: z.enum(['report', 'repair']),
  appliedFacts: count,
  groupsChecked: count,
  usersChecked: count,
  findings: count,
  newFindings: count,
  counts: z.record(z.string(), count),
  published: z.boolean().optional().nullable(),
  repairEventIds: z.array(z.string()).optional(),
  repairsSent: count.optional(),
  repairsFailed: z.array(z.object({ id: z.string(), reason: z.string() })).optional(),
  notRepaired: count.optional(),
});
export type DeployedDriftSummary = z.infer<typeof runSummarySchema>;

export interface DeployedRun {
  stackName: string;
  functionName: string;
  region?: string;
  profile?: string;
}

async function runDeployed(choice: StackChoice, format: Format, out: (text: string) => void): Promise<number> {
  if (choice.profile !== undefined) process.env.AWS_PROFILE = choice.profile;
  const outputs = await stackOutputs(choice.stackName, choice.region);
  const functionName = outputs.DriftFunctionName;
  if (!functionName) {
    throw new Error(
      `stack ${choice.stackName} has no DriftFunctionName output: drift detection is off in that deployment (driftSchedule "off"), ` +
        'so there is no drift function to run. Deploy with a driftSchedule to have one',
    );
  }
  const run: DeployedRun = { stackName: choice.stackName, functionName, region: choice.region, profile: choice.profile };
  process.stderr.write(`drift: running ${functionName} (stack ${choice.stackName}) and waiting for it; a run may take minutes\n`);
  const summary = await invokeDriftFunction(run);
  if (format === 'json') out(`${JSON.stringify({ target: deployedDescription(run), functionName, drift: summary.findings > 0, ...summary }, null, 2)}\n`);
  else out(renderDeployedDrift(summary, run, terminalWidth()));
  if ((summary.repairsFailed ?? []).length > 0) return DETAILED_EXIT.error;
  return summary.findings > 0 ? DETAILED_EXIT.changes : DETAILED_EXIT.none;
}

/** Invokes the function once (RequestResponse; never retried: a second attempt would be a second run) and reads its summary. */
async function invokeDriftFunction(run: DeployedRun): Promise<DeployedDriftSummary> {
  const lambda = new LambdaClient({ ...(run.region && { region: run.region }), maxAttempts: 1 });
  const where = `the drift function ${run.functionName} of stack ${run.stackName}`;
  let response;
  try {
    response = await lambda.send(new InvokeCommand({ FunctionName: run.functionName, InvocationType: 'RequestResponse', Payload: Buffer.from('{}') }));
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    const hint =
      name === 'TooManyRequestsException'
        ? ' (it runs one at a time: another run, the scheduled one perhaps, is going; try again when it ends)'
        : name === 'AccessDeniedException'
          ? ` (your credentials need lambda:InvokeFunction on ${run.functionName})`
          : '';
    throw new Error(`${where} could not be invoked: ${name}: ${message}${hint}`);
  } finally {
    lambda.destroy();
  }
  const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
  const logs = `its logs are in the log group /aws/lambda/${run.functionName}`;
  if (response.FunctionError !== undefined) {
    let reason = text;
    try {
      const payload = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
      if (typeof payload.errorMessage === 'string') reason = `${typeof payload.errorType === 'string' ? `${payload.errorType}: ` : ''}${payload.errorMessage}`;
    } catch {
      // Not JSON: its text as it is.
    }
    throw new Error(`${where} failed (${response.FunctionError}): ${reason || '(no error message)'}; ${logs}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const summary = runSummarySchema.safeParse(parsed);
  if (!summary.success) throw new Error(`${where} returned no drift summary (${text.length === 0 ? 'nothing' : `${text.length} bytes that are not one`}); ${logs}`);
  return summary.data;
}

function deployedDescription(run: DeployedRun): string {
  return `stack ${run.stackName} (drift function ${run.functionName}${run.region ? ` in ${run.region}` : ''})`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The deployed function's summary: counts and ids (it returns no names or values), and where to see the findings. */
export function renderDeployedDrift(summary: DeployedDriftSummary, run: DeployedRun, width: number): string {
  const lines: string[] = [];
  const push = (text: string, indent = 0) => {
    for (const line of wrap(text, Math.max(20, width - indent))) lines.push(`${' '.repeat(indent)}${line}`);
  };
  push(`drift: ${deployedDescription(run)}, run at ${summary.at.replace(/\.\d{3}Z$/, 'Z')} with the deployment's driftAction: ${summary.action}`);
  lines.push('');
  if (summary.appliedFacts === 0) {
    push('No applied facts: the state table holds nothing this service applied (nothing applied yet, or watermarks from before drift detection, which carry none). Nothing to compare with.');
  } else if (summary.findings === 0) {
    push('No drift: the managed scope holds what this service applied.');
  } else {
    const kinds = [...DRIFT_KINDS, ...Object.keys(summary.counts).filter((kind) => !(DRIFT_KINDS as readonly string[]).includes(kind))];
    const found = kinds.filter((kind) => (summary.counts[kind] ?? 0) > 0);
    const digits = Math.max(...found.map((kind) => String(summary.counts[kind]).length));
    // Findings by kind, one a line: the counts right-aligned under each other.
    for (const kind of found) lines.push(`  ${String(summary.counts[kind]).padStart(digits)}  ${KIND_LABEL[kind as DriftKind] ?? kind}`);
    lines.push('');
  }
  push(
    `Drift: ${plural(summary.findings, 'finding')}, ${summary.newFindings} new. Checked ${plural(summary.groupsChecked, 'managed group')} and ${plural(summary.usersChecked, 'user')} ` +
      `against ${plural(summary.appliedFacts, 'applied fact')}.` +
      (summary.findings > 0 ? ' The drift function recorded each finding in the audit trail (DRIFT).' : ''),
  );
  if (summary.findings > 0 && summary.published === false) push('identity.drift.detected was not published (see the function\'s logs).');
  if (summary.action === 'repair') {
    const ids = summary.repairEventIds;
    const sent = summary.repairsSent ?? 0;
    const failedRepairs = summary.repairsFailed ?? [];
    const total = ids?.length ?? sent + failedRepairs.length;
    if (total > 0) {
      push(`Repair: ${sent} of ${plural(total, 'event')} sent to the bus as ${DRIFT_REPAIR_PRODUCER} by the drift function${ids && ids.length > 0 ? `: ${ids.join(', ')}` : ''}.`);
      for (const failure of failedRepairs) push(`not sent: ${failure.id}: ${failure.reason}`, 2);
    } else if (summary.findings > 0) {
      push('Repair: nothing to send.');
    }
    if ((summary.notRepaired ?? 0) > 0) push(`${plural(summary.notRepaired!, 'finding')} not repaired (nothing applied to go back to); the DRIFT records say why.`, 2);
  } else if (summary.findings > 0) {
    push('This deployment reports drift only (driftAction: report); deployed with driftAction: repair, its drift function sends the events that put it back.');
  }
  if (summary.findings > 0) {
    const options = [`--stack ${run.stackName}`, ...(run.region ? [`--region ${run.region}`] : []), ...(run.profile ? [`--profile ${run.profile}`] : [])].join(' ');
    lines.push('');
    push('The function returns counts and ids only. Each finding, with names and values:');
    // One line, even past the width: a command to copy is not broken.
    lines.push(`  npm run audit -- changes --since 1h ${options}`);
  }
  return `${lines.join('\n')}\n`;
}


if (require.main === module) runDetailedCommand('drift', () => main(process.argv.slice(2)));
