/**
 * Who sent a record and what they may ask for (lambdas/domain/producer.ts), first as pure
 * functions, then through processDelivery with the in-memory ports: the verified producer on
 * every record, refusals before any Identity Store call, and a user's groups list reconciled only
 * within the sender's grant.
 */
import { identityChangeSchema, type IdentityChange } from '../../lambdas/domain/identity-change';
import { processDelivery, type ProcessSettings } from '../../lambdas/domain/process-event';
import {
  doorOf,
  grantRefusal,
  isRefusal,
  verifyProducer,
  type RecordOrigin,
  type VerifiedProducer,
} from '../../lambdas/domain/producer';
import type { OutcomeRecord } from '../../lambdas/domain/ports';
import { producerDeclarationsSchema, type RuntimeProducer } from '../../lambdas/shared/producers';
import { ada, at, events, OCCURRED_AT_BOUNDS, person } from '../support/events';
import { FixedClock, InMemoryAuditLog, InMemoryIdentityStore, InMemoryProcessingState } from '../support/in-memory-ports';
import {
  BUS_ORIGIN,
  envelopeOf,
  fullGrantQueueProducer,
  HR_ACCOUNT,
  HR_SOURCE,
  TEST_ORIGIN,
  TEST_PRODUCER_QUEUE_ARN,
} from '../support/producers';

const PORTAL_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:identity-provisioner-producer-portal';
const PORTAL_ORIGIN: RecordOrigin = { queueArn: PORTAL_QUEUE_ARN, senderId: 'AROA444455556666PORTAL:portal-session' };

/** The HR feed: users and department groups, through the bus. */
const hr: RuntimeProducer = {
  name: 'hr',
  via: 'bus',
  source: HR_SOURCE,
  accounts: [HR_ACCOUNT],
  eventTypes: ['user.upserted', 'user.deleted', 'group.upserted'],
  groups: ['Everyone', 'dept-*'],
};
/** A self-service portal: only memberships of app-* groups, through its own queue. */
const portal: RuntimeProducer = {
  name: 'portal',
  via: 'queue',
  queueArn: PORTAL_QUEUE_ARN,
  eventTypes: ['membership.added', 'membership.removed'],
  groups: ['app-*'],
};
/** Sets the scene: may do anything, through its own queue. */
const admin = fullGrantQueueProducer(TEST_PRODUCER_QUEUE_ARN, 'admin');
const PRODUCERS = [admin, hr, portal];

const change = (event: unknown): IdentityChange => identityChangeSchema.parse(event);
/**
 * An event the contract refuses (a name padded with whitespace), as if it had got past it: the
 * grant check must still refuse it on its own.
 */
const unchecked = (event: unknown): IdentityChange => {
  expect(identityChangeSchema.safeParse(event).success).toBe(false);
  return event as IdentityChange;
};
const verified = (door: ReturnType<typeof doorOf>, document: unknown) => verifyProducer(door, document, PRODUCERS);
const refusalOf = (result: VerifiedProducer | { refused: string }) => (isRefusal(result) ? result.refused : undefined);

describe('the name records use for an unverified sender', () => {
  it('is reserved: no producer may be declared "unverified"', () => {
    const declared = (name: string) =>
      producerDeclarationsSchema.safeParse({
        [name]: { via: 'queue', principals: ['arn:aws:iam::111122223333:role/x'], eventTypes: '*', groups: ['*'] },
      });
    const refused = declared('unverified');
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]).toMatchObject({ path: ['unverified'], message: expect.stringMatching(/is reserved/) });
    expect(declared('unverified-feed').success).toBe(true);
  });
});

describe('doorOf: the queue a record came from', () => {
  it("is a producer's own queue only for that queue's exact ARN", () => {
    expect(doorOf(PORTAL_ORIGIN, PRODUCERS)).toEqual({ via: 'queue', producer: portal });
    expect(doorOf({ ...PORTAL_ORIGIN, queueArn: PORTAL_QUEUE_ARN.toUpperCase() }, PRODUCERS)).toEqual({ via: 'bus' });
    expect(doorOf({ ...PORTAL_ORIGIN, queueArn: `${PORTAL_QUEUE_ARN}-dlq` }, PRODUCERS)).toEqual({ via: 'bus' });
    expect(doorOf(BUS_ORIGIN, PRODUCERS)).toEqual({ via: 'bus' });
  });

  it('never takes a bus producer for a queue (it has no queueArn)', () => {
    expect(doorOf({ queueArn: 'undefined', senderId: 'x' }, PRODUCERS)).toEqual({ via: 'bus' });
  });
});

describe('verifyProducer: from what AWS vouches for', () => {
  const bus = { via: 'bus' } as const;
  const portalQueue = { via: 'queue', producer: portal } as const;

  it("takes a producer queue's producer for a bare document", () => {
    expect(verified(portalQueue, events.membership('membership.added', 'ada', 'app-wiki'))).toEqual({ producer: portal, via: 'queue' });
  });

  it('refuses an EventBridge envelope on a producer queue: its source cannot be verified there', () => {
    const forged = envelopeOf(events.membership('membership.added', 'ada', 'dept-eng'));
    expect(refusalOf(verified(portalQueue, forged))).toMatch(/producer "portal"'s own queue: send the bare v1 document to this queue/);
    // A detail-type alone is enough to be taken for an envelope.
    expect(refusalOf(verified(portalQueue, { ...events.groupDeleted('x'), 'detail-type': 'group.deleted' }))).toBeDefined();
  });

  it('takes a declared source from one of its accounts on the bus queue', () => {
    expect(verified(bus, envelopeOf(events.groupUpserted('dept-eng')))).toEqual({ producer: hr, via: 'bus' });
  });

  it('refuses a bare document (or any other JSON) on the bus queue', () => {
    const message =
      "body: is not an EventBridge event, and on the bus queue only the envelope the bus builds names its producer: no producer can be verified: send through the bus with your producer's source, or to your producer queue";
    expect(refusalOf(verified(bus, events.groupUpserted('dept-eng')))).toBe(message);
    for (const other of [[envelopeOf(events.groupUpserted('dept-eng'))], 'text', 42, null]) expect(refusalOf(verified(bus, other))).toBe(message);
  });

  it.each([
    ['an undeclared source', { source: 'identity-provisioner.payroll' }, /source: "identity-provisioner.payroll" is not the source of a declared bus producer \(declared: identity-provisioner.hr\)/],
    ['a source in another case', { source: 'Identity-Provisioner.HR' }, /source: "Identity-Provisioner.HR" is not the source/],
    ['a source with a trailing space', { source: `${HR_SOURCE} ` }, /is not the source/],
    ["this service's own outcome source", { source: 'identity-provisioner' }, /is not the source/],
    ['no source', { source: undefined }, /^source: is required/],
    ['a source that is not a string', { source: ['identity-provisioner.hr'] }, /^source: is required/],
    ["an account that is not the producer's", { account: '999988887777' }, /account: "999988887777" is not one of producer "hr"'s accounts \(111122223333\)/],
    ['no account', { account: undefined }, /account: is missing and is not one of producer "hr"'s accounts/],
    ['the account as a number', { account: 111122223333 }, /account: is missing and is not one of/],
  ])('refuses %s on the bus queue', (_name, overrides, message) => {
    expect(refusalOf(verified(bus, envelopeOf(events.groupUpserted('dept-eng'), overrides)))).toMatch(message);
  });

  it('verifies nothing when no producer is declared', () => {
    expect(refusalOf(verifyProducer(bus, envelopeOf(events.groupUpserted('dept-eng')), []))).toMatch(/\(declared: none\)/);
    expect(doorOf(PORTAL_ORIGIN, [])).toEqual({ via: 'bus' });
  });
});

describe("grantRefusal: the producer's grant", () => {
  it('names the event type the producer may not send, and what it may', () => {
    expect(grantRefusal(change(events.userDeleted({ userName: 'ada' })), portal)).toBe(
      'producer "portal" may not send user.deleted (it may send membership.added, membership.removed)',
    );
  });

  it('names the group the producer may not touch, and its groups', () => {
    expect(grantRefusal(change(events.membership('membership.added', 'ada', 'Engineering')), portal)).toBe(
      'producer "portal" may not touch group "Engineering" (its groups: app-*)',
    );
  });

  it.each([
    ['App-Tools', true, 'IAM Identity Center compares names case-insensitively'],
    ['APP-', true, 'the bare prefix'],
    ['app', false, 'the prefix "app-*" does not match "app"'],
    ['apps-tools', false, 'another prefix'],
    ['\u0430pp-tools', false, 'a Cyrillic "а" look-alike'],
  ])('group "%s" against "app-*": allowed %s (%s)', (group, allowed) => {
    expect(grantRefusal(change(events.membership('membership.added', 'ada', group)), portal) === undefined).toBe(allowed);
  });

  it('refuses a group with a leading space against "app-*", even past the contract (which refuses it first)', () => {
    expect(grantRefusal(unchecked(events.membership('membership.added', 'ada', ' app-tools')), portal)).toBe(
      'producer "portal" may not touch group " app-tools" (its groups: app-*)',
    );
  });

  it.each([
    ['Everyone', true],
    ['everyone', true],
    ['EVERYONE', true],
    ['Everyone2', false],
    ['Ev\u0435ryone', false], // Cyrillic е
  ])('group %j against the exact name "Everyone": allowed %s', (group, allowed) => {
    expect(grantRefusal(change(events.groupUpserted(group)), hr) === undefined).toBe(allowed);
  });

  it.each([['Everyone '], ['Everyone\u00a0'], ['Everyone\u3000']])(
    'group %j: refused by the contract, and by the grant check even past it',
    (group) => {
      expect(grantRefusal(unchecked(events.groupUpserted(group)), hr)).toMatch(/^producer "hr" may not touch group "Everyone\\u/);
    },
  );

  it('shows invisible and look-alike characters escaped, so the reader sees why', () => {
    expect(grantRefusal(unchecked(events.groupUpserted('Everyone\u00a0')), hr)).toBe(
      'producer "hr" may not touch group "Everyone\\u00a0" (its groups: Everyone, dept-*)',
    );
    expect(grantRefusal(unchecked(events.groupUpserted('Everyone ')), hr)).toContain('"Everyone\\u0020"');
    expect(grantRefusal(change(events.membership('membership.added', 'ada', '\u0430pp-x')), portal)).toContain('"\\u0430pp-x"');
  });

  it("checks every entry of a user's groups list and names only the ones outside", () => {
    const upsert = change(events.userUpserted(ada(), { groups: ['Everyone', 'dept-eng', 'app-wiki', 'dept-ops', 'Admins-ish'] }));
    expect(grantRefusal(upsert, hr)).toBe('producer "hr" may not touch groups "app-wiki", "Admins-ish" (its groups: Everyone, dept-*)');
    expect(grantRefusal(change(events.userUpserted(ada(), { groups: ['Everyone', 'dept-eng'] })), hr)).toBeUndefined();
    expect(grantRefusal(change(events.userUpserted(ada())), hr)).toBeUndefined();
    expect(grantRefusal(change(events.userUpserted(ada(), { groups: [] })), hr)).toBeUndefined();
  });

  it('touches the group of group.upserted, group.deleted and memberships; user.deleted touches none', () => {
    const everything = { ...hr, eventTypes: [...admin.eventTypes] };
    expect(grantRefusal(change(events.groupDeleted('Finance')), everything)).toMatch(/may not touch group "Finance"/);
    expect(grantRefusal(change(events.membership('membership.removed', 'ada', 'Finance')), everything)).toMatch(/"Finance"/);
    expect(grantRefusal(change(events.userDeleted({ userName: 'ada' })), everything)).toBeUndefined();
  });

  it('"*" covers every group; an empty grant covers none', () => {
    expect(grantRefusal(change(events.groupUpserted('Anything at all')), admin)).toBeUndefined();
    expect(grantRefusal(change(events.groupUpserted('Everyone')), { ...hr, groups: [] })).toBe(
      'producer "hr" may not touch group "Everyone" (its groups: none)',
    );
  });
});

describe('processDelivery with declared producers', () => {
  const settings: ProcessSettings = {
    identityStoreId: 'd-1234567890',
    managedGroupScope: { kind: 'created' },
    maxMembershipRemovalsPerEvent: 2,
    deletionCap: 5,
    deletionWindowSeconds: 3600,
    producers: PRODUCERS,
    occurredAtBounds: OCCURRED_AT_BOUNDS,
    redeliveryBaseDelaySeconds: 1,
  };

  function harness() {
    const identityStore = new InMemoryIdentityStore();
    const state = new InMemoryProcessingState();
    const audit = new InMemoryAuditLog();
    const clock = new FixedClock();
    const published: OutcomeRecord[] = [];
    const deps = {
      identityStore,
      state,
      audit,
      clock,
      publisher: { publish: async (r: OutcomeRecord) => void published.push(r) },
      pause: async (ms: number) => clock.advance(ms),
    };
    let messages = 0;
    const deliver = (event: unknown, origin: RecordOrigin) =>
      processDelivery(
        typeof event === 'string' ? event : JSON.stringify(event),
        { messageId: `m-${++messages}`, receiveCount: 1, maxReceiveCount: 5, receivedAt: clock.now(), deadline: new Date(clock.now().getTime() + 60_000), origin },
        deps,
        settings,
      );
    /** The admin sets the scene: groups, and a user in some of them. */
    const scene = async (groups: string[], user?: { userName: string; in: string[] }) => {
      for (const group of groups) expect((await deliver(events.groupUpserted(group, { at: at(1) }), TEST_ORIGIN)).disposition.kind).toBe('ack');
      if (user) {
        const joined = await deliver(events.userUpserted(person(user.userName), { groups: user.in, at: at(2) }), TEST_ORIGIN);
        expect(joined.record.outcome).toBe('APPLIED');
      }
    };
    return { identityStore, audit, published, deliver, scene };
  }

  it('records the verified producer, the raw SenderId and the door on the outcome and every write', async () => {
    const h = harness();
    const result = await h.deliver(envelopeOf(events.groupUpserted('dept-eng')), BUS_ORIGIN);
    expect(result.record).toMatchObject({ outcome: 'APPLIED', producer: 'hr', senderId: BUS_ORIGIN.senderId, via: 'bus', source: HR_SOURCE, actor: 'hr-system' });
    const writes = h.audit.writes.filter((w) => w.eventId === result.eventId);
    expect(writes.length).toBeGreaterThan(0);
    for (const write of writes) expect(write).toMatchObject({ producer: 'hr', senderId: BUS_ORIGIN.senderId, via: 'bus' });
    expect(h.published.at(-1)).toMatchObject({ producer: 'hr', senderId: BUS_ORIGIN.senderId });
  });

  it('refuses an unverifiable sender as PRODUCER_UNKNOWN, recorded as unverified, before any Identity Store call', async () => {
    const h = harness();
    const result = await h.deliver(envelopeOf(events.groupUpserted('dept-eng'), { source: 'identity-provisioner.payroll' }), BUS_ORIGIN);
    expect(result.disposition.kind).toBe('deadLetter');
    expect(result.record).toMatchObject({
      outcome: 'REJECTED',
      errorCode: 'PRODUCER_UNKNOWN',
      producer: 'unverified',
      via: 'bus',
      senderId: BUS_ORIGIN.senderId,
      source: 'identity-provisioner.payroll',
      type: 'group.upserted',
    });
    expect(h.identityStore.calls).toEqual([]);
    expect(h.published).toEqual([result.record]);
  });

  it("records the queue's producer for a forged envelope on its queue: the queue vouches for who sent it", async () => {
    const h = harness();
    const result = await h.deliver(envelopeOf(events.groupUpserted('dept-eng')), PORTAL_ORIGIN);
    expect(result.record).toMatchObject({ errorCode: 'PRODUCER_UNKNOWN', producer: 'portal', via: 'queue', senderId: PORTAL_ORIGIN.senderId });
    expect(h.identityStore.calls).toEqual([]);
  });

  it('knows the producer of malformed JSON on its queue, and no producer of malformed JSON on the bus queue', async () => {
    const h = harness();
    const onQueue = await h.deliver('{"id": "x", ', PORTAL_ORIGIN);
    expect(onQueue.record).toMatchObject({ errorCode: 'MALFORMED_JSON', producer: 'portal', via: 'queue', source: 'sqs' });
    const onBus = await h.deliver('{"id": "x", ', BUS_ORIGIN);
    expect(onBus.record).toMatchObject({ errorCode: 'MALFORMED_JSON', producer: 'unverified', via: 'bus' });
  });

  it('validates the document only once the producer is known, and records who sent the invalid one', async () => {
    const h = harness();
    const invalid = await h.deliver({ ...events.membership('membership.added', 'ada', 'app-wiki'), data: { userName: 'ada' } }, PORTAL_ORIGIN);
    expect(invalid.record).toMatchObject({ errorCode: 'INVALID_EVENT', producer: 'portal' });
    const badEnvelope = await h.deliver({ ...envelopeOf(events.groupUpserted('dept-eng')), detail: undefined }, BUS_ORIGIN);
    expect(badEnvelope.record).toMatchObject({ errorCode: 'INVALID_ENVELOPE', producer: 'hr' });
  });

  it.each([
    ['by type', () => events.userDeleted({ userName: 'ada' }), /producer "portal" may not send user.deleted/],
    ['by group', () => events.membership('membership.added', 'ada', 'Engineering'), /producer "portal" may not touch group "Engineering"/],
  ])('refuses a producer outside its grant (%s) as PRODUCER_NOT_ALLOWED, before any Identity Store call', async (_how, event, message) => {
    const h = harness();
    const result = await h.deliver(event(), PORTAL_ORIGIN);
    expect(result.disposition.kind).toBe('deadLetter');
    expect(result.record).toMatchObject({ outcome: 'REJECTED', errorCode: 'PRODUCER_NOT_ALLOWED', producer: 'portal', via: 'queue', senderId: PORTAL_ORIGIN.senderId });
    expect(result.record.errorMessage).toMatch(message);
    expect(h.identityStore.calls).toEqual([]);
  });

  it('refuses a whole user.upserted for one groups entry outside the grant, and changes nothing', async () => {
    const h = harness();
    await h.scene(['Everyone', 'app-wiki']);
    const callsBefore = h.identityStore.calls.length;
    const result = await h.deliver(envelopeOf(events.userUpserted(ada(), { groups: ['Everyone', 'app-wiki'] })), BUS_ORIGIN);
    expect(result.record).toMatchObject({ errorCode: 'PRODUCER_NOT_ALLOWED', errorMessage: 'producer "hr" may not touch group "app-wiki" (its groups: Everyone, dept-*)' });
    expect(h.identityStore.calls.length).toBe(callsBefore);
    expect(h.identityStore.snapshot()).toEqual({});
  });

  it("reconciles a groups list only within the sender's grant: the portal's memberships survive the HR feed's upsert", async () => {
    const h = harness();
    await h.scene(['Everyone', 'dept-eng', 'dept-ops', 'app-wiki', 'Legacy'], { userName: 'grace', in: ['dept-eng', 'Legacy'] });
    expect((await h.deliver(events.membership('membership.added', 'grace', 'app-wiki', { at: at(3) }), PORTAL_ORIGIN)).record.outcome).toBe('APPLIED');

    // The HR feed moves Grace from dept-eng to dept-ops: its list is complete within Everyone, dept-*.
    const moved = await h.deliver(envelopeOf(events.userUpserted(person('grace'), { groups: ['Everyone', 'dept-ops'], at: at(4) })), BUS_ORIGIN);
    expect(moved.record.outcome).toBe('APPLIED');
    expect(h.identityStore.snapshot()).toEqual({ grace: ['Everyone', 'Legacy', 'app-wiki', 'dept-ops'] });
    const writes = h.audit.writes.filter((w) => w.eventId === moved.eventId).map((w) => `${w.action} ${w.groupDisplayName}`);
    expect(writes.sort()).toEqual(['CreateGroupMembership Everyone', 'CreateGroupMembership dept-ops', 'DeleteGroupMembership dept-eng']);
  });

  it('counts the removal cap within the grant: memberships outside it neither count nor go', async () => {
    const h = harness();
    const portalGroups = ['app-a', 'app-b', 'app-c', 'app-d'];
    await h.scene(['dept-eng', ...portalGroups], { userName: 'alan', in: ['dept-eng', ...portalGroups] });
    // An empty list within hr's grant: one removal (dept-eng), under the cap of 2, although alan
    // is in five managed groups.
    const result = await h.deliver(envelopeOf(events.userUpserted(person('alan'), { groups: [], at: at(5) })), BUS_ORIGIN);
    expect(result.record.outcome).toBe('APPLIED');
    expect(h.identityStore.snapshot()).toEqual({ alan: portalGroups });
  });

  it('still refuses more removals than the cap within the grant, naming the producer', async () => {
    const h = harness();
    await h.scene(['dept-a', 'dept-b', 'dept-c'], { userName: 'ken', in: ['dept-a', 'dept-b', 'dept-c'] });
    const result = await h.deliver(envelopeOf(events.userUpserted(person('ken'), { groups: [], at: at(5) })), BUS_ORIGIN);
    expect(result.record).toMatchObject({ errorCode: 'TOO_MANY_REMOVALS', producer: 'hr' });
    expect(result.record.errorMessage).toMatch(/would remove 3 memberships at once \(in groups producer "hr" may touch\)/);
  });
});
