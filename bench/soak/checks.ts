/**
 * The soak's verdicts. Each check returns what it looked at and every discrepancy it found.
 *
 * "Exactly one final outcome" is counted per distinct event id over the audit trail:
 * - the id has at least one OUTCOME record and its LAST one is final (APPLIED, NOOP, SUPERSEDED,
 *   REJECTED, FAILED; RETRYING is not final);
 * - a valid event ends APPLIED, NOOP or SUPERSEDED; an invalid one only ever REJECTED (once per
 *   delivery: a rejected event is not remembered as done, so each copy sent is rejected again);
 * - at most one APPLIED, and a valid event's final outcomes are all of one kind, except that a
 *   re-run after the completion was lost (DynamoDB went away between the outcome record and the
 *   idempotency record) may add NOOP or SUPERSEDED records with no writes after the first final
 *   one. Those re-runs are counted and reported.
 */
import type { AuditRecord } from '../../lambdas/adapters/dynamodb-audit-log';
import type { WriteJournalEntry } from '../../local/emulator';
import { reasonNames } from './bad-input';
import type { IdentityState } from './model';
import type { WorkloadSend } from './workload';

export interface CheckResult {
  name: string;
  passed: boolean;
  /** What was compared, for the report. */
  summary: string;
  problems: string[];
}

const FINAL = new Set(['APPLIED', 'NOOP', 'SUPERSEDED', 'REJECTED', 'FAILED']);
const MAX_PROBLEMS = 25;

export function checkIdentityStore(expected: IdentityState, actual: IdentityState): CheckResult {
  const problems: string[] = [];
  const compare = <T>(what: string, keyOf: (item: T) => string, want: T[], got: T[]) => {
    const gotByKey = new Map(got.map((item) => [keyOf(item).toLowerCase(), item]));
    for (const item of want) {
      const other = gotByKey.get(keyOf(item).toLowerCase());
      if (!other) problems.push(`${what} ${keyOf(item)} missing from the store; expected ${JSON.stringify(item)}`);
      else if (JSON.stringify(other) !== JSON.stringify(item)) problems.push(`${what} ${keyOf(item)}: expected ${JSON.stringify(item)}, store has ${JSON.stringify(other)}`);
      gotByKey.delete(keyOf(item).toLowerCase());
    }
    for (const [, item] of gotByKey) problems.push(`${what} ${keyOf(item)} in the store but not expected: ${JSON.stringify(item)}`);
  };
  compare('user', (u) => u.userName, expected.users, actual.users);
  compare('group', (g) => g.displayName, expected.groups, actual.groups);
  const memberships = (s: IdentityState) => s.users.reduce((n, u) => n + u.groups.length, 0);
  return result(
    'identity store equals the reference model',
    problems,
    `${actual.users.length} users, ${actual.groups.length} groups, ${memberships(actual)} memberships (model: ${expected.users.length}, ${expected.groups.length}, ${memberships(expected)})`,
  );
}

export interface OutcomeTally {
  byOutcome: Record<string, number>;
  /** Events with extra no-write final records after a lost completion. */
  reRuns: number;
  /** RETRYING records seen along the way. */
  retrying: number;
}

export function checkOutcomes(
  historyById: Map<string, AuditRecord[]>,
  invalidIds: Set<string>,
): { check: CheckResult; tally: OutcomeTally } {
  const problems: string[] = [];
  const tally: OutcomeTally = { byOutcome: {}, reRuns: 0, retrying: 0 };
  for (const [eventId, records] of historyById) {
    const outcomes = records.flatMap((r) => (r.kind === 'OUTCOME' ? [r] : []));
    tally.retrying += outcomes.filter((o) => o.outcome === 'RETRYING').length;
    const last = outcomes.at(-1);
    if (!last) {
      problems.push(`${eventId}: no outcome recorded`);
      continue;
    }
    if (!FINAL.has(last.outcome)) {
      problems.push(`${eventId}: last outcome is ${last.outcome} (${last.errorCode ?? ''}), not final`);
      continue;
    }
    tally.byOutcome[last.outcome] = (tally.byOutcome[last.outcome] ?? 0) + 1;
    const finals = outcomes.filter((o) => FINAL.has(o.outcome));
    if (invalidIds.has(eventId)) {
      if (finals.some((o) => o.outcome !== 'REJECTED')) problems.push(`${eventId}: invalid event with outcomes ${kinds(finals)}`);
      continue;
    }
    if (finals.some((o) => o.outcome === 'REJECTED' || o.outcome === 'FAILED')) {
      problems.push(`${eventId}: valid event ended ${kinds(finals)}: ${finals.at(-1)?.errorCode ?? ''} ${finals.at(-1)?.errorMessage ?? ''}`);
      continue;
    }
    if (finals.filter((o) => o.outcome === 'APPLIED').length > 1) problems.push(`${eventId}: APPLIED more than once`);
    const [first, ...later] = finals;
    if (later.length > 0) {
      const harmless = later.every((o) => (o.outcome === 'NOOP' || o.outcome === 'SUPERSEDED') && o.writes === 0);
      if (!harmless) problems.push(`${eventId}: several final outcomes ${kinds(finals)}`);
      else if (first.outcome !== 'APPLIED' && later.some((o) => o.outcome !== first.outcome)) problems.push(`${eventId}: final outcomes of different kinds ${kinds(finals)}`);
      else tally.reRuns++;
    }
  }
  const check = result(
    'every event has exactly one final outcome',
    problems,
    `${historyById.size} distinct events: ${Object.entries(tally.byOutcome).map(([k, v]) => `${k} ${v}`).join(', ')}; ${tally.retrying} RETRYING records on the way; ${tally.reRuns} harmless re-runs`,
  );
  return { check, tally };
}

export interface DeadLetter {
  body: string;
  attributes: Record<string, string | undefined>;
}

export function checkDeadLetters(
  deadLetters: DeadLetter[],
  invalidSends: { send: WorkloadSend; messageId: string }[],
  historyById: Map<string, AuditRecord[]>,
): CheckResult {
  const problems: string[] = [];
  const bySource = new Map<string, DeadLetter[]>();
  for (const letter of deadLetters) {
    const source = letter.attributes.sourceMessageId ?? '(none)';
    bySource.set(source, [...(bySource.get(source) ?? []), letter]);
  }
  for (const { send, messageId } of invalidSends) {
    const letters = bySource.get(messageId) ?? [];
    bySource.delete(messageId);
    if (letters.length === 0) problems.push(`${send.badCase!.name} (message ${messageId}): not in the DLQ`);
    // More than one copy only if a rejection was re-run (its acknowledgement was lost): each copy must still say why.
    for (const letter of letters) problems.push(...deadLetterProblems(letter, send, historyById));
  }
  for (const [source, letters] of bySource) {
    const [first] = letters;
    problems.push(`DLQ holds ${letters.length} message(s) from ${source} that was not invalid: ${first.attributes.rejectionCode ?? 'MAX_RECEIVES'} ${first.attributes.rejectionReason ?? ''}`);
  }
  return result('the DLQ holds exactly the invalid messages, each with its reason', problems, `${deadLetters.length} DLQ messages for ${invalidSends.length} invalid messages sent`);
}

function deadLetterProblems(letter: DeadLetter, send: WorkloadSend, historyById: Map<string, AuditRecord[]>): string[] {
  const { name, expect: expected } = send.badCase!;
  const problems: string[] = [];
  const { rejectionCode: code = '', rejectionReason: reason = '', eventId = '' } = letter.attributes;
  if (letter.body !== send.body) problems.push(`${name}: DLQ body differs from the message sent`);
  if (code !== expected.code || !reasonNames(reason, expected)) {
    problems.push(`${name}: DLQ reason ${code} "${reason}" does not name ${expected.code} ${expected.field}: ${expected.rule}`);
  }
  const rejected = (historyById.get(eventId) ?? []).some(
    (r) => r.kind === 'OUTCOME' && r.outcome === 'REJECTED' && r.errorCode === expected.code && reasonNames(r.errorMessage ?? '', expected),
  );
  if (!rejected) problems.push(`${name}: no REJECTED audit record for ${eventId} naming ${expected.field}: ${expected.rule}`);
  return problems;
}

export function checkWritesOnce(
  journal: WriteJournalEntry[],
  historyById: Map<string, AuditRecord[]>,
): { check: CheckResult; unaudited: number; audited: number; byIntentOnly: number } {
  const problems: string[] = [];
  const journalByRequest = new Map(journal.map((entry) => [entry.requestId, entry]));
  const auditedRequests = new Map<string, string>();
  let audited = 0;
  for (const [eventId, records] of historyById) {
    const targets = new Map<string, { attempt: number; requestId?: string }>();
    for (const record of records) {
      if (record.kind !== 'WRITE') continue;
      audited++;
      const target = `${record.action} ${record.membershipId ?? [record.groupId, record.userId].filter(Boolean).join('/')}`;
      const earlier = targets.get(target);
      // Writing the same target again is only right when another writer changed it in between
      // (an older event applied while this one waited for a retry): the retry restores it.
      if (earlier !== undefined && !touchedInBetween(journal, earlier.requestId, record.requestId)) {
        problems.push(`${eventId}: two successful ${target} (attempts ${earlier.attempt} and ${record.attempt}; outcomes ${outcomeTrail(records)})`);
      }
      targets.set(target, { attempt: record.attempt, requestId: record.requestId });
      if (!record.requestId) {
        problems.push(`${eventId}: ${target} has no requestId`);
        continue;
      }
      const other = auditedRequests.get(record.requestId);
      if (other) problems.push(`request ${record.requestId} is audited twice (${other} and ${eventId})`);
      auditedRequests.set(record.requestId, eventId);
      const entry = journalByRequest.get(record.requestId);
      if (!entry) problems.push(`${eventId}: ${target} (request ${record.requestId}) is not in the Identity Store's write journal`);
      else if (entry.action !== record.action) problems.push(`${eventId}: audit says ${record.action}, the journal says ${entry.action} for ${record.requestId}`);
    }
  }
  // A write without its WRITE record (its response or its record was lost) must still have its
  // intent: the INTENT recorded before the call, with no WRITE under the same attempt and sequence.
  const unconfirmedIntents = [...historyById.values()].flatMap((records) => {
    const confirmed = new Set(records.filter((r) => r.kind === 'WRITE').map((r) => `${r.attempt}|${r.sequence}`));
    return records.filter((r): r is IntentOf<typeof r> => r.kind === 'INTENT' && !confirmed.has(`${r.attempt}|${r.sequence}`));
  });
  let byIntentOnly = 0;
  let unaudited = 0;
  for (const entry of journal) {
    if (auditedRequests.has(entry.requestId)) continue;
    const intent = unconfirmedIntents.findIndex((candidate) => intentMatches(candidate, entry));
    if (intent < 0) {
      unaudited++;
      continue;
    }
    byIntentOnly++;
    unconfirmedIntents.splice(intent, 1);
  }
  if (unaudited > 0) problems.push(`${unaudited} Identity Store writes have neither a WRITE record nor an intent: the trail misses changes that happened`);
  const check = result(
    'no Identity Store write happened twice for one event',
    problems,
    `${journal.length} writes in the journal, ${audited} audit write records, ${byIntentOnly} writes recorded by their intent only (the WRITE record or the response was lost); ${unaudited} writes without an audit record`,
  );
  return { check, unaudited, audited, byIntentOnly };
}

type IntentOf<R> = R extends { kind: 'INTENT' } ? R : never;

/** Whether an intent (recorded before the call, so it knows names for creates, ids otherwise) names this journal write. */
function intentMatches(intent: IntentOf<AuditRecord>, entry: WriteJournalEntry): boolean {
  if (intent.action !== entry.action) return false;
  const same = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
  switch (intent.action) {
    case 'CreateUser':
      return same(intent.userName, entry.userName);
    case 'CreateGroup':
      return same(intent.groupDisplayName, entry.displayName);
    case 'CreateGroupMembership':
      return intent.groupId === entry.groupId && intent.userId === entry.userId;
    case 'DeleteGroupMembership':
      return intent.membershipId === entry.membershipId;
    case 'UpdateUser':
    case 'DeleteUser':
      return intent.userId === entry.userId;
    case 'UpdateGroup':
    case 'DeleteGroup':
      return intent.groupId === entry.groupId;
  }
}

/** Whether a write other than these two touched the same user or group between them. */
function touchedInBetween(journal: WriteJournalEntry[], firstRequestId?: string, secondRequestId?: string): boolean {
  const first = journal.find((e) => e.requestId === firstRequestId);
  const second = journal.find((e) => e.requestId === secondRequestId);
  if (!first || !second) return false;
  const [from, to] = first.sequence < second.sequence ? [first, second] : [second, first];
  return journal.some(
    (e) => e.sequence > from.sequence && e.sequence < to.sequence && ((first.userId && e.userId === first.userId) || (first.groupId && e.groupId === first.groupId)),
  );
}

function result(name: string, problems: string[], summary: string): CheckResult {
  const shown = problems.slice(0, MAX_PROBLEMS);
  if (problems.length > MAX_PROBLEMS) shown.push(`... and ${problems.length - MAX_PROBLEMS} more`);
  return { name, passed: problems.length === 0, summary, problems: shown };
}

const outcomeTrail = (records: AuditRecord[]) =>
  records.flatMap((r) => (r.kind === 'OUTCOME' ? [`${r.attempt}:${r.outcome}${r.errorCode ? `(${r.errorCode})` : ''}`] : [])).join(' ');
const kinds = (records: { outcome: string }[]) => records.map((r) => r.outcome).join(',');
