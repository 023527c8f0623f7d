/**
 * The run summary's accounting: every entry of a file gets exactly one fate, each from a fact
 * about its id (never a residue), and the exit code follows from those fates. Also the progress
 * line's width and how often it prints without a terminal, and the endpoint check.
 */
import { createServer } from 'node:net';
import { accountEntries, exitCodeOf, tallyEntries, type RunFacts } from '../../local/pipeline/run-summary';
import { formatProgressLine, progressReporter, unreachableReason } from '../../local/cli/start-progress';

const event = (id: string) => ({ id, type: 'group.upserted', occurredAt: '2026-11-02T09:01:00Z', actor: 'a', data: { group: { DisplayName: 'G' } } });
const envelope = (id: string) => ({ source: 'identity-provisioner', 'detail-type': 'group.upserted', detail: event(id) });

function facts(overrides: Partial<RunFacts>): RunFacts {
  return {
    entries: [],
    sent: { messageIds: {}, busEventIds: {}, refused: [], failed: [] },
    unmatched: [],
    deliveryFailures: [],
    outcomesById: new Map(),
    duplicateDeliveries: [],
    ...overrides,
  };
}

describe('accountEntries', () => {
  it('gives each entry exactly one fate, from the facts about its id', () => {
    const entries = [event('a'), event('a'), event('b'), envelope('c'), event('d'), event('e'), event('f'), event('g'), 'not json', event('h')];
    const accounts = accountEntries(
      facts({
        entries,
        sent: {
          messageIds: { 0: 'm0', 1: 'm1', 2: 'm2', 5: 'm5', 6: 'm6', 7: 'm7', 8: 'm8', 9: 'm9' },
          busEventIds: { 3: 'eb-c' },
          refused: [{ index: 4, code: 'AccessDenied', reason: 'no' }],
          failed: [],
        },
        unmatched: [
          { eventId: 'eb-c', reason: 'source "identity-provisioner" not accepted by rule r' },
          { eventId: 'eb-other', reason: 'an outcome event of the function' },
        ],
        outcomesById: new Map([
          ['a', ['APPLIED']],
          ['b', ['RETRYING', 'FAILED']],
          ['e', ['RETRYING']],
          ['message:m8', ['REJECTED']],
          ['h', ['RETRYING', 'RETRYING', 'SUPERSEDED']],
        ]),
        // 'a' answered once (its second entry); 'g' answered from an earlier run's record.
        duplicateDeliveries: ['a', 'g'],
        queued: new Map([['f', 'on q (visible, received 0 times)']]),
      }),
    );
    expect(accounts.map(({ id, fate }) => `${id}:${fate}`)).toEqual([
      'a:applied',
      'a:duplicate',
      'b:failed',
      'c:notMatched',
      'd:refusedByPolicy',
      'e:pending',
      'f:pending',
      'g:duplicate',
      'message:m8:rejected',
      'h:superseded',
    ]);
    expect(accounts[3].reason).toContain('source "identity-provisioner" not accepted');
    expect(accounts[5].reason).toContain('still retrying');
    expect(accounts[6].reason).toBe('still queued: on q (visible, received 0 times)');
  });

  it('counts a duplicate only for a duplicate answer the function logged, never for a missing outcome', () => {
    const accounts = accountEntries(facts({ entries: [event('x'), event('x'), event('x')], sent: { messageIds: {}, busEventIds: {}, refused: [], failed: [] }, outcomesById: new Map([['x', ['APPLIED']]]), duplicateDeliveries: ['x'] }));
    expect(accounts.map((a) => a.fate)).toEqual(['applied', 'duplicate', 'pending']);
    expect(accounts[2].reason).toMatch(/^never delivered/);
    // More answers than entries (a redelivered message answered again): no entry is counted twice.
    const more = accountEntries(facts({ entries: [event('y')], duplicateDeliveries: ['y', 'y', 'y'] }));
    expect(more.map((a) => a.fate)).toEqual(['duplicate']);
  });

  it('gives each final outcome of an id to one entry: an invalid event sent twice is rejected twice', () => {
    const accounts = accountEntries(facts({ entries: [event('r'), event('r')], outcomesById: new Map([['r', ['REJECTED', 'REJECTED']]]) }));
    expect(accounts.map((a) => a.fate)).toEqual(['rejected', 'rejected']);
  });

  it('says why an entry was not sent, or why the rule could not deliver it', () => {
    const accounts = accountEntries(
      facts({
        entries: [event('n'), envelope('u')],
        sent: { messageIds: {}, busEventIds: { 1: 'eb-u' }, refused: [], failed: [{ index: 0, reason: 'producer "x" is not declared' }] },
        deliveryFailures: [{ eventId: 'eb-u', queueName: 'q', error: 'AccessDenied' }],
      }),
    );
    expect(accounts).toEqual([
      { index: 0, id: 'n', fate: 'notSent', reason: 'producer "x" is not declared' },
      { index: 1, id: 'u', fate: 'pending', reason: 'the rule could not put it on q: AccessDenied' },
    ]);
  });

  it('tallies counts and the non-success ids from the fates alone', () => {
    const accounts = accountEntries(
      facts({
        entries: [event('a'), event('a'), envelope('c'), event('d')],
        sent: { messageIds: {}, busEventIds: { 2: 'eb-c' }, refused: [{ index: 3, code: 'AccessDenied', reason: '' }], failed: [] },
        unmatched: [{ eventId: 'eb-c', reason: 'detail-type "x" not accepted by rule r' }],
        outcomesById: new Map([['a', ['NOOP']]]),
        duplicateDeliveries: ['a'],
      }),
    );
    const tally = tallyEntries(accounts);
    expect(tally).toMatchObject({ events: 4, noop: 1, duplicates: 1, notMatched: 1, refusedByPolicy: 1, pending: 0, applied: 0 });
    expect(tally.ids).toEqual({
      refusedByPolicy: ['d'],
      notMatched: [{ id: 'c', reason: 'detail-type "x" not accepted by rule r' }],
      notSent: [],
      rejected: [],
      failed: [],
      duplicates: ['a'],
      pending: [],
    });
    const buckets = ['refusedByPolicy', 'notMatched', 'notSent', 'applied', 'noop', 'superseded', 'rejected', 'failed', 'duplicates', 'pending'] as const;
    expect(buckets.reduce((sum, b) => sum + tally[b], 0)).toBe(tally.events);
  });
});

describe('exitCodeOf', () => {
  const clean = { pending: 0, failed: 0, notMatched: 0, notSent: 0, rejected: 0, refusedByPolicy: 0 };
  it('is 0 only when every event reached a final outcome that is not FAILED', () => {
    expect(exitCodeOf(clean)).toBe(0);
    expect(exitCodeOf({ ...clean, rejected: 2, refusedByPolicy: 3 })).toBe(0);
    for (const bucket of ['pending', 'failed', 'notMatched', 'notSent'] as const) expect(exitCodeOf({ ...clean, [bucket]: 1 })).toBe(1);
  });
  it('--fail-on-reject makes REJECTED and refused by policy count', () => {
    expect(exitCodeOf({ ...clean, rejected: 1 }, { failOnReject: true })).toBe(1);
    expect(exitCodeOf({ ...clean, refusedByPolicy: 1 }, { failOnReject: true })).toBe(1);
    expect(exitCodeOf(clean, { failOnReject: true })).toBe(0);
  });
});

describe('the progress line', () => {
  it('fits 80 columns, whatever the figures', () => {
    const cases = [
      { done: 0, total: 0, throttles: 0, waitedSeconds: 0 },
      { done: 31, total: 75, throttles: 12, waitedSeconds: 4.25 },
      { done: 75, total: 75, throttles: 1234, waitedSeconds: 98765.4 },
      { done: 999_999, total: 1_000_000, throttles: 123_456_789, waitedSeconds: 123_456_789.9 },
    ];
    for (const state of cases) expect(formatProgressLine(state).length).toBeLessThanOrEqual(80);
    expect(formatProgressLine(cases[1])).toMatch(/^\[#+\.+\] 31\/75 events {2}12 throttled {2}4\.3 s on RetryAfter$/);
    expect(formatProgressLine(cases[3])).toContain('999999/1000000 events');
  });

  it('without a terminal prints the final state once, however often it is reported', () => {
    const written: string[] = [];
    const progress = progressReporter({ quiet: false, interactive: false, write: (t) => written.push(t) });
    progress.update({ done: 1, total: 4, throttles: 0, waitedSeconds: 0 });
    for (let i = 0; i < 5; i++) progress.update({ done: 4, total: 4, throttles: 0, waitedSeconds: 0 });
    progress.end();
    expect(written).toEqual([`${formatProgressLine({ done: 1, total: 4, throttles: 0, waitedSeconds: 0 })}\n`, `${formatProgressLine({ done: 4, total: 4, throttles: 0, waitedSeconds: 0 })}\n`]);
  });

  it('without a terminal does not repeat the final state when it was just printed', () => {
    const written: string[] = [];
    const progress = progressReporter({ quiet: false, interactive: false, write: (t) => written.push(t), intervalMs: 0 });
    for (let i = 0; i < 4; i++) progress.update({ done: 4, total: 4, throttles: 0, waitedSeconds: 0 });
    progress.end();
    expect(written).toHaveLength(1);
  });

  it('on a terminal redraws in place and ends the line once', () => {
    const written: string[] = [];
    const progress = progressReporter({ quiet: false, interactive: true, write: (t) => written.push(t) });
    progress.update({ done: 1, total: 4, throttles: 0, waitedSeconds: 0 });
    progress.update({ done: 4, total: 4, throttles: 0, waitedSeconds: 0 });
    progress.end();
    expect(written.every((t) => t.startsWith('\r') || t === '\n')).toBe(true);
    expect(written.filter((t) => t === '\n')).toHaveLength(1);
  });
});

describe('unreachableReason', () => {
  it('is undefined for a listening port and names the error for a closed one', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    expect(await unreachableReason(`http://127.0.0.1:${port}`)).toBeUndefined();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await unreachableReason(`http://127.0.0.1:${port}`)).toBe('ECONNREFUSED');
  });
});
