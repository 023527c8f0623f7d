/**
 * npm run drift -- [--repair] [options]: does the managed scope still hold what this service last
 * applied? Reads the live Identity Store and state table (cli/live-target.ts), runs the drift
 * detection the scheduled function runs (lambdas/domain/drift.ts), records a DRIFT record per
 * finding in the audit trail, and prints the findings. With --repair it also sends the events that
 * put them back, as the built-in producer drift-repair (cli/deliver.ts): ordinary events, applied,
 * checked and audited by the pipeline like any producer's.
 *
 * Exit codes as `terraform plan -detailed-exitcode` (and npm run plan): 0 no drift, 1 error,
 * 2 drift found. A usage error is an error (1), never 2: a script that acts on "drift found" must
 * not act on a mistyped option. Usage errors say so on stderr (`drift: usage error: ...`).
 */
import './quiet-sdk';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
import { closest, parseCommandLine, projectVersion, terminalWidth, UsageError, wrap } from './conventions';
import { deliverEvents, type DeliveryChoice, type DeliveryReport } from './deliver';
import { LIVE_TARGET_HELP, LIVE_TARGET_OPTIONS, liveTargetChoiceOf, openLiveTarget, type LiveTarget, type LiveTargetChoice } from './live-target';

/** terraform plan -detailed-exitcode. */
export const DRIFT_EXIT = { noDrift: 0, error: 1, drift: 2 } as const;


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
Groups outside the managed scope never count.

Options:
  --repair              also put things back: send the events that undo each finding
                        (user.upserted with the applied attributes, membership.removed,
                        membership.added, group.upserted) as the producer drift-repair, through
                        its door, like any producer's events. An unexplained member, or a user
                        renamed outside the service, is reported but not repaired (nothing was
                        applied to go back to; an event under the old name would make a new user)
  --format table|json   table (default) for people; json has every field of every finding
  -h, --help            this text
  --version             the version

${LIVE_TARGET_HELP}

Locally, --repair sends to the npm start running on --local-dir, or runs npm start on it with the
repairs as its events file when none is running.

Exit codes (as terraform plan -detailed-exitcode; not the 2-for-usage of the other commands):
  0  no drift: the managed scope holds what the service applied (or nothing was applied yet)
  1  error: a usage error (a bad or missing option or setting, no local store), the store or the
     tables did not answer, or a repair could not be delivered. Usage errors are reported on
     stderr as "drift: usage error: ..." and, as in terraform, exit 1, never 2
  2  drift found (with --repair: and the repairs were delivered; run it again to see it gone)

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
  return { repair: repair === true, format: format as Format, choice: liveTargetChoiceOf(target, env) };
}

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
    return DRIFT_EXIT.noDrift;
  }
  if (request === 'version') {
    out(`${projectVersion()}\n`);
    return DRIFT_EXIT.noDrift;
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
    if (report.repair && report.repair.failed.length > 0) return DRIFT_EXIT.error;
    return report.findings.length > 0 ? DRIFT_EXIT.drift : DRIFT_EXIT.noDrift;
  } catch (error) {
    return failed(error);
  } finally {
    await target?.close();
  }
}

function failed(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError) process.stderr.write(`drift: usage error: ${message}\nRun with --help for usage.\n`);
  else process.stderr.write(`drift: ${message}\n`);
  return DRIFT_EXIT.error;
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
      return { choice: { kind: 'stack', stackName: choice.stackName, region: choice.region, profile: choice.profile } };
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
};

/** What differs, with the values (stdout is for the operator; nothing here is logged). */
export function whatDiffers(finding: SeenFinding): string {
  const group = finding.groupDisplayName ?? finding.groupId ?? '';
  switch (finding.kind) {
    case 'attribute-differs':
    case 'description-differs':
      return `${finding.path}: ${shown(finding.expected)} applied, ${shown(finding.actual)} found`;
    case 'user-missing':
      return 'deleted outside this service';
    case 'unexpected-member':
      return `in ${group}: this service's last change left them out`;
    case 'unexplained-member':
      return `in ${group}: not put there by this service`;
    case 'member-missing':
      return `not in ${group}: this service put them there`;
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

function shown(value: unknown): string {
  return value === undefined ? '(not set)' : JSON.stringify(value);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = failed(error);
    },
  );
}
