/**
 * npm run reconcile -- --roster FILE: brings the people of the managed scope in line with a roster
 * (their complete desired state: attributes, ExternalId, groups) by making ordinary v1 events of
 * the difference (lambdas/domain/roster.ts): planned by default (cli/plan-inputs.ts's runPlan, the
 * function's own record path over what-if ports), delivered with --apply as a declared producer
 * (cli/deliver.ts), so ordering, idempotency, the grant, the caps and the audit trail apply to them
 * as to any producer's events. People missing from the roster are offboarded only with
 * --offboard-missing, and only when all of them fit in what the deletion cap leaves.
 * Exit codes as npm run plan (terraform's -detailed-exitcode): 0 nothing to do, 2 changes planned,
 * 1 an error; with --apply, 0 delivered (and, through npm start, applied), 1 not.
 */
import './quiet-sdk';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readManagedView } from '../lambdas/domain/managed-view';
import { describeScope } from '../lambdas/domain/managed-scope';
import { reconcileRoster, type ReconcileResult, type ReconcileStep } from '../lambdas/domain/roster';
import { groupInGrant, type RuntimeProducer } from '../lambdas/shared/producers';
import { LOCAL_DEFAULT_PRODUCER } from '../local/pipeline/defaults';
import { closest, DETAILED_EXIT, detailedExitCodesHelp, detailedUsageErrorText, parseCommandLine, projectVersion, terminalWidth, UsageError, wrap, runDetailedCommand } from './conventions';
import { deliverEvents, type DeliveryChoice, type DeliveryReport } from './deliver';
import { LIVE_TARGET_HELP, LIVE_TARGET_OPTIONS, liveTargetChoiceOf, openLiveTarget, type LiveTarget, type LiveTargetChoice } from './live-target';
import { PlanInputError, runPlan, type PlanReport } from './plan-inputs';
import { jsonReport, renderPlan } from './plan';
import { readRoster, ROSTER_FIELDS_HELP, RosterError, type Roster } from './roster';

const DEFAULT_ACTOR = 'roster-reconcile';
const FORMATS = ['table', 'json'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `Usage: npm run reconcile -- --roster FILE [options]

Brings the people of the managed scope in line with a roster: the complete desired state of each
person (attributes, ExternalId, groups). The difference from the live store becomes ordinary v1
events: a user.upserted for each person whose attributes or groups differ (a known ExternalId
under a new userName is a rename), a group.upserted for a roster group that does not exist yet,
and, only with --offboard-missing, a user.deleted for each person in the scope the roster does
not name. Without --apply they are planned (the function's own record path, writing nothing);
with --apply they are sent as --producer, like any producer's events, so ordering, idempotency,
the producer's grant, the caps and the audit trail apply to them unchanged.

The roster (JSON Lines, one person per line; or CSV with a header row, RFC 4180 quoting,
groups separated by ;) has the fields:
  ${ROSTER_FIELDS_HELP.split('\n').join('\n  ')}
An unknown field, a person twice, or a row the event contract refuses stops the run, named
by file:line. A CSV cell beginning with = + - @ is text: nothing is ever evaluated.

The scope, for people: the members of the managed groups the producer's grant covers.
Safety: nobody is offboarded without --offboard-missing; never more people than the
deletion cap leaves in the current window (otherwise none is); never from an empty roster.

Options:
  --roster FILE                 the roster (a relative path is from the directory you ran npm in)
  --offboard-missing            offboard (user.deleted) the people in the scope the roster does
                                not name
  --apply                       send the events (default: only plan them). Locally, through the
                                producer's door of a running npm start, else by running
                                npm start -- --events FILE --state-dir DIR --producer NAME; with
                                --stack, to the producer's queue or the bus, with your own AWS
                                credentials (they must be one of the producer's principals)
  --producer NAME               the producer the events are sent as; its grant must cover the
                                roster's groups (default: ${LOCAL_DEFAULT_PRODUCER} when declared, else the only
                                declared producer)
  --actor TEXT                  the events' actor (default ${DEFAULT_ACTOR}); their ids are
                                reconcile-<hash of the roster, the run and the event>
  --format table|json           table (default) for people; json carries every event and the plan
  -h, --help                    this text
  --version                     the version

${LIVE_TARGET_HELP}

${detailedExitCodesHelp({
  none: ['nothing to do', 'the store matches the roster; with --apply, every event was delivered (and, through npm start, applied)'],
  error:
    'a roster that breaks a rule, a reconcile refused (a group outside the grant or the managed scope, a name conflict, offboarding past the deletion cap or from an empty roster), a planned event the pipeline would reject or fail, the store did not answer; with --apply, an event not delivered, rejected or without a final outcome',
  changes: ['changes planned', 'without --apply'],
})}

Personal data (names, attribute values) is printed on stdout, for you; nothing is logged.
`;

const OPTIONS = {
  roster: { type: 'string' },
  'offboard-missing': { type: 'boolean' },
  apply: { type: 'boolean' },
  producer: { type: 'string' },
  actor: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  ...LIVE_TARGET_OPTIONS,
} as const;

interface ReconcileRequest {
  rosterFile: string;
  offboardMissing: boolean;
  apply: boolean;
  producer?: string;
  actor: string;
  format: Format;
  target: LiveTargetChoice;
}

export function parseReconcileArgs(argv: string[]): ReconcileRequest | 'help' | 'version' {
  const { values } = parseCommandLine(argv, OPTIONS, false);
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (values.roster === undefined) throw new UsageError('--roster FILE is required: the roster to reconcile');
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) {
    const guess = closest(format, FORMATS);
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"${guess ? ` (did you mean ${guess}?)` : ''}`);
  }
  const actor = values.actor ?? DEFAULT_ACTOR;
  if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]{1,256}$/u.test(actor) || actor.trim() === '') {
    throw new UsageError(`--actor must be 1-256 printable characters, got ${JSON.stringify(actor)}`);
  }
  return {
    rosterFile: values.roster,
    offboardMissing: values['offboard-missing'] ?? false,
    apply: values.apply ?? false,
    producer: values.producer,
    actor,
    format: format as Format,
    target: liveTargetChoiceOf(values),
  };
}

/** The producer the events go as: --producer, else the local default, else the only one declared. */
function chooseProducer(producers: readonly RuntimeProducer[], name: string | undefined): RuntimeProducer {
  const declared = producers.map((producer) => producer.name).sort();
  if (name !== undefined) {
    const found = producers.find((producer) => producer.name === name);
    if (found) return found;
    const guess = closest(name, declared);
    throw new UsageError(`--producer: "${name}" is not a declared producer (declared: ${declared.join(', ') || 'none'})${guess ? `; did you mean ${guess}?` : ''}`);
  }
  const fallback = producers.find((producer) => producer.name === LOCAL_DEFAULT_PRODUCER) ?? (producers.length === 1 ? producers[0] : undefined);
  if (fallback === undefined) throw new UsageError(`--producer NAME is required: the producer the events are sent as (declared: ${declared.join(', ') || 'none'})`);
  return fallback;
}

/** Where --apply sends: the same place the reconcile read. */
function deliveryChoiceOf(choice: LiveTargetChoice, producer: RuntimeProducer): DeliveryChoice {
  switch (choice.kind) {
    case 'local':
      return { kind: 'local', localDir: choice.localDir, ...(choice.settingsFile !== undefined && { settingsFile: choice.settingsFile }) };
    case 'endpoints':
      // npm start against those services; its own state (logs, bundle) in a folder of its own.
      return {
        kind: 'local',
        localDir: mkdtempSync(join(tmpdir(), 'identity-provisioner-reconcile-')),
        identityStoreEndpoint: choice.identityStoreEndpoint,
        dynamodbEndpoint: choice.dynamodbEndpoint,
        ...(choice.settingsFile !== undefined && { settingsFile: choice.settingsFile }),
      };
    case 'stack':
      return { kind: 'stack', stackName: choice.stackName, region: choice.region, profile: choice.profile, ...(producer.source !== undefined && { source: producer.source }) };
  }
}

/** A planned entry the pipeline would not apply: the reconcile is an error, not a change. */
const WOULD_NOT_APPLY = ['REJECTED', 'FAILED', 'REFUSED', 'NOT_MATCHED'];

export async function main(argv: string[], out: (text: string) => void = (text) => process.stdout.write(text)): Promise<number> {
  let target: LiveTarget | undefined;
  try {
    const request = parseReconcileArgs(argv);
    if (request === 'help') {
      out(HELP);
      return DETAILED_EXIT.none;
    }
    if (request === 'version') {
      out(`${projectVersion()}\n`);
      return DETAILED_EXIT.none;
    }
    const roster = readRoster(request.rosterFile);
    if (request.offboardMissing && roster.people.length === 0) {
      throw new RosterError([
        `${roster.path}: the roster names no one: with --offboard-missing that would offboard everyone in the scope. Refused: an empty export is far more likely a failed export than a company with no people.`,
      ]);
    }
    target = await openLiveTarget(request.target, 'reconcile');
    const { config } = target;
    const producer = chooseProducer(config.PRODUCERS, request.producer);
    const view = await readManagedView(target.identityStore, target.state, config.MANAGED_GROUP_SCOPE);
    const result = await reconcileRoster(
      roster.people.map(({ at, data }) => ({ at, data })),
      view,
      target,
      {
        now: new Date(),
        actor: request.actor,
        rosterDigest: roster.digest,
        offboardMissing: request.offboardMissing,
        scope: config.MANAGED_GROUP_SCOPE,
        producer: { name: producer.name, eventTypes: producer.eventTypes, covers: (group) => groupInGrant(group, producer.groups) },
        deletionCap: config.DELETION_CAP,
        deletionWindowSeconds: config.DELETION_WINDOW_SECONDS,
      },
    );
    const context: Context = { roster, target, producer, result, request, width: terminalWidth() };
    if (result.problems.length > 0) {
      if (request.format === 'json') out(`${JSON.stringify(jsonOutput(context), null, 2)}\n`);
      else out(renderChanges(context));
      process.stderr.write(`reconcile: refused, nothing was sent:\n${result.problems.map((problem) => `  ${problem}`).join('\n')}\n`);
      return DETAILED_EXIT.error;
    }
    const events = result.steps.map((step) => step.event);
    if (!request.apply) {
      const plan = events.length > 0 ? await runPlan(target, events, { producer: producer.name }) : undefined;
      const wouldNotApply = plan?.entries.filter((entry) => WOULD_NOT_APPLY.includes(entry.outcome)) ?? [];
      if (request.format === 'json') out(`${JSON.stringify(jsonOutput({ ...context, plan }), null, 2)}\n`);
      else {
        out(renderChanges(context));
        if (plan) out(`\n${renderPlan(plan, [], context.width)}`);
        if (events.length > 0 && wouldNotApply.length === 0) out(`\nTo send these ${events.length} events as producer ${producer.name}: the same command with --apply.\n`);
      }
      if (wouldNotApply.length > 0) {
        process.stderr.write(`reconcile: ${wouldNotApply.length} of the ${events.length} events would not be applied (${wouldNotApply.map((entry) => `${entry.eventId}: ${entry.outcome}${entry.errorCode ? ` ${entry.errorCode}` : ''}`).join('; ')}); see the plan\n`);
        return DETAILED_EXIT.error;
      }
      return events.length > 0 ? DETAILED_EXIT.changes : DETAILED_EXIT.none;
    }

    if (request.format === 'table') out(renderChanges(context));
    // The store is read through files npm start opens too: close them before it runs.
    await target.close();
    target = undefined;
    let delivery: DeliveryReport | undefined;
    if (events.length > 0) {
      if (request.format === 'table') out(`\nSending ${events.length} events as producer ${producer.name}\n`);
      delivery = await deliverEvents(events, { producer: producer.name }, deliveryChoiceOf(request.target, producer), {
        // JSON output stays one document on stdout: npm start's own report goes to stderr.
        stdout: request.format === 'json' ? process.stderr : process.stdout,
      });
    }
    if (request.format === 'json') out(`${JSON.stringify(jsonOutput({ ...context, delivery }), null, 2)}\n`);
    else if (delivery) out(`\n${renderDelivery(delivery, events.length)}\n`);
    return delivery === undefined || delivery.delivered ? DETAILED_EXIT.none : DETAILED_EXIT.error;
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof PlanInputError;
    const message = error instanceof RosterError ? `the roster is refused, nothing was sent:\n${error.problems.map((problem) => `  ${problem}`).join('\n')}` : error instanceof Error ? error.message : String(error);
    process.stderr.write(usage ? detailedUsageErrorText('reconcile', message) : `reconcile: ${message}\n`);
    return DETAILED_EXIT.error;
  } finally {
    await target?.close();
  }
}

interface Context {
  roster: Roster;
  target: LiveTarget;
  producer: RuntimeProducer;
  result: ReconcileResult;
  request: ReconcileRequest;
  width: number;
  plan?: PlanReport;
  delivery?: DeliveryReport;
}

const KIND_LABEL: Record<ReconcileStep['kind'], string> = { 'create-group': 'create group', join: 'join', update: 'update', offboard: 'offboard' };

/** The roster's changes, one block per event, and who is not in the roster. Wrapped, never clipped. */
function renderChanges({ roster, target, producer, result, request, width }: Context): string {
  const lines: string[] = [];
  const push = (text: string, indent = 0) => {
    for (const line of wrap(text, Math.max(20, width - indent))) lines.push(`${' '.repeat(indent)}${line}`);
  };
  const { deletionAllowance: allowance } = result;
  push(`reconcile: roster ${roster.path} (${roster.format === 'csv' ? 'CSV' : 'JSON Lines'}, ${roster.people.length} ${roster.people.length === 1 ? 'person' : 'people'})`);
  push(`against ${target.description}`);
  for (const line of target.settingsHeader) push(line);
  push(
    `as producer ${producer.name} (groups ${producer.groups.join(', ')}); managed scope: ${describeScope(target.config.MANAGED_GROUP_SCOPE)}; ` +
      `deletion cap ${allowance.cap} per ${allowance.windowSeconds} s, ${allowance.reserved} taken in this window`,
  );
  lines.push('');
  if (result.steps.length === 0) push(`No changes: the store matches the roster (${result.unchanged} ${result.unchanged === 1 ? 'person' : 'people'} unchanged).`);
  else {
    push(`Changes (${result.steps.length} event${result.steps.length === 1 ? '' : 's'}; ${result.unchanged} ${result.unchanged === 1 ? 'person' : 'people'} unchanged):`);
    for (const step of result.steps) {
      push(`${KIND_LABEL[step.kind]} ${step.subject}${step.at ? ` (${step.at.slice(step.at.lastIndexOf('/') + 1)})` : ''}  ${step.event.type} ${step.event.id}`, 2);
      for (const detail of step.details) push(detail, 6);
    }
  }
  const kept = result.missing.filter((person) => !result.steps.some((step) => step.kind === 'offboard' && step.subject === person.userName));
  if (kept.length > 0) {
    push(
      `Not in the roster, ${request.offboardMissing ? 'not offboarded (see the refusal)' : 'kept (--offboard-missing offboards them)'}: ${kept.map((person) => person.userName).join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderDelivery(delivery: DeliveryReport, total: number): string {
  const lines = [`Delivered to ${delivery.description}: ${delivery.delivered ? `all ${total} events${delivery.via === 'npm-start' ? ', applied' : ', sent'}` : 'NOT all'}.`];
  for (const refusal of delivery.refused) lines.push(`  refused: ${refusal.reason}${refusal.code ? ` (${refusal.code})` : ''}`);
  for (const failure of delivery.failed) lines.push(`  not applied: ${failure.reason}`);
  if (delivery.exitCode !== undefined && delivery.exitCode !== 0) lines.push(`  npm start exited ${delivery.exitCode}`);
  return lines.join('\n');
}

function jsonOutput({ roster, target, producer, result, plan, delivery }: Context) {
  return {
    roster: { path: roster.path, format: roster.format, people: roster.people.length },
    target: target.description,
    producer: producer.name,
    changes: result.steps.length > 0,
    events: result.steps.map((step) => ({ kind: step.kind, subject: step.subject, ...(step.at !== undefined && { at: step.at }), details: step.details, event: step.event })),
    unchanged: result.unchanged,
    missing: result.missing.map((person) => person.userName),
    deletionAllowance: result.deletionAllowance,
    problems: result.problems,
    ...(plan !== undefined && { plan: jsonReport(plan) }),
    ...(delivery !== undefined && { delivery }),
  };
}

if (require.main === module) runDetailedCommand('reconcile', () => main(process.argv.slice(2)));
