/**
 * Write-ahead audit for one event attempt. `writeAhead` wraps the Identity Store port so that each
 * write is preceded by a durable INTENT record: if the intent cannot be written, the write is not
 * made (AUDIT_UNAVAILABLE, retried). The applier records the WRITE, with the request id and the
 * changes, right after the write succeeds, under the intent's sequence. So every write the store
 * made has at least its intent in the trail, even when the WRITE record or the response was lost.
 */
import { errorMessage, RetryableError } from './errors';
import type { AuditLogPort, CallReceipt, Clock, IdentityStorePort, IntentRecord, ProducerFacts, WriteAction, WriteRecord } from './ports';

type IntentTargets = Omit<IntentRecord, keyof ProducerFacts | 'eventId' | 'sequence' | 'attempt' | 'at' | 'actor' | 'identityStoreId'>;
type WriteDetails = Omit<
  WriteRecord,
  keyof ProducerFacts | 'eventId' | 'sequence' | 'attempt' | 'at' | 'actor' | 'identityStoreId' | 'requestId' | 'attempts' | 'waitedMs'
>;

/** The attempt every intent and write record belongs to. */
export interface WriteContext {
  eventId: string;
  attempt: number;
  actor: string;
  identityStoreId: string;
  /** Who sent the event, as AWS vouches for it. */
  sender: ProducerFacts;
  /**
   * When the subjects' lease lapses (the invocation's deadline). After it another event about
   * the same subject may be applied, so no write may start later than WRITE_LEASE_MARGIN_MS before.
   */
  leaseUntil: Date;
}

/** A write needs the lease for at least this long: the call, its retries and its record. */
export const WRITE_LEASE_MARGIN_MS = 1_000;

/** Records the intents and writes of the current attempt, in order. Created per event attempt. */
export class WriteRecorder {
  private nextSequence = 0;
  private readonly open = new Map<WriteAction, number>();
  private written = 0;

  constructor(
    private readonly context: WriteContext,
    private readonly audit: AuditLogPort,
    private readonly clock: Clock,
  ) {}

  /** Writes made and recorded in this attempt. */
  get count(): number {
    return this.written;
  }

  /** Intents recorded in this attempt (writes tried). */
  get intents(): number {
    return this.nextSequence;
  }

  /**
   * Before a write: checks the subjects are still leased to this attempt, then durably says the
   * write is about to be made. Throws LEASE_LAPSED or AUDIT_UNAVAILABLE, and then the write is not made.
   */
  async intend(targets: IntentTargets): Promise<void> {
    const left = this.context.leaseUntil.getTime() - this.clock.now().getTime();
    if (left < WRITE_LEASE_MARGIN_MS) {
      throw new RetryableError(
        'LEASE_LAPSED',
        `the ${targets.action} was not made: ${left <= 0 ? 'the subject lease has lapsed' : `only ${left} ms of the subject lease were left`} (the invocation's deadline); another change to the subject may be under way`,
      );
    }
    const sequence = this.nextSequence;
    const record: IntentRecord = { ...targets, ...this.common(sequence) };
    try {
      await this.audit.recordIntent(record);
    } catch (error) {
      throw new RetryableError('AUDIT_UNAVAILABLE', `the ${targets.action} was not made: its intent could not be recorded: ${errorMessage(error)}`, 0, {
        cause: error,
      });
    }
    this.nextSequence++;
    this.open.set(targets.action, sequence);
  }

  /** After a write succeeded: its record, under its intent's sequence. */
  async record(write: WriteDetails, receipt: CallReceipt): Promise<void> {
    const sequence = this.open.get(write.action);
    if (sequence === undefined) throw new Error(`${write.action} recorded without an intent (a write that bypassed the write-ahead port)`);
    this.open.delete(write.action);
    const record: WriteRecord = {
      ...write,
      ...this.common(sequence),
      requestId: receipt.requestId,
      attempts: receipt.attempts,
      waitedMs: receipt.waitedMs,
    };
    try {
      await this.audit.recordWrite(record);
    } catch (error) {
      throw new RetryableError(
        'AUDIT_UNAVAILABLE',
        `the ${write.action} was made (its intent is recorded) but its audit record could not be written: ${errorMessage(error)}`,
        0,
        { cause: error },
      );
    }
    this.written++;
  }

  private common(sequence: number) {
    return {
      eventId: this.context.eventId,
      sequence,
      attempt: this.context.attempt,
      at: this.clock.now().toISOString(),
      actor: this.context.actor,
      ...this.context.sender,
      identityStoreId: this.context.identityStoreId,
    };
  }
}

/** The Identity Store port with every write preceded by its intent record. Reads pass through. */
export function writeAhead(port: IdentityStorePort, writes: WriteRecorder): IdentityStorePort {
  return {
    findUserIdByUserName: port.findUserIdByUserName.bind(port),
    findUserIdByExternalId: port.findUserIdByExternalId.bind(port),
    describeUser: port.describeUser.bind(port),
    findGroupIdByDisplayName: port.findGroupIdByDisplayName.bind(port),
    describeGroup: port.describeGroup.bind(port),
    listMembershipsForUser: port.listMembershipsForUser.bind(port),
    listGroups: port.listGroups.bind(port),
    listMembershipsInGroup: port.listMembershipsInGroup.bind(port),
    findMembershipId: port.findMembershipId.bind(port),
    createUser: async (attributes) => {
      await writes.intend({ action: 'CreateUser', userName: attributes.UserName });
      return port.createUser(attributes);
    },
    updateUser: async (userId, operations) => {
      await writes.intend({ action: 'UpdateUser', userId });
      return port.updateUser(userId, operations);
    },
    deleteUser: async (userId) => {
      await writes.intend({ action: 'DeleteUser', userId });
      return port.deleteUser(userId);
    },
    createGroup: async (group) => {
      await writes.intend({ action: 'CreateGroup', groupDisplayName: group.displayName });
      return port.createGroup(group);
    },
    updateGroup: async (groupId, operations) => {
      await writes.intend({ action: 'UpdateGroup', groupId });
      return port.updateGroup(groupId, operations);
    },
    deleteGroup: async (groupId) => {
      await writes.intend({ action: 'DeleteGroup', groupId });
      return port.deleteGroup(groupId);
    },
    createMembership: async (groupId, userId) => {
      await writes.intend({ action: 'CreateGroupMembership', groupId, userId });
      return port.createMembership(groupId, userId);
    },
    deleteMembership: async (membershipId) => {
      await writes.intend({ action: 'DeleteGroupMembership', membershipId });
      return port.deleteMembership(membershipId);
    },
  };
}
