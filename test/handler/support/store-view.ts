/**
 * What the tests read back, each through the real API of the thing that holds it: the identity
 * store (IdentitystoreClient against the emulator), the audit trail (DynamoDbAuditQuery), the
 * DLQ (local SQS snapshot) and the outcome events (local EventBridge).
 */
import {
  DescribeGroupCommand,
  GetGroupIdCommand,
  GetUserIdCommand,
  ListGroupMembershipsForMemberCommand,
} from '@aws-sdk/client-identitystore';
import type { OutcomeRecord } from '../../../lambdas/domain/ports';
import { BUS_NAME, IDENTITY_STORE_ID, type HandlerWorld } from './world';

export async function userIdOf(world: HandlerWorld, userName: string): Promise<string | undefined> {
  try {
    const output = await world.identityStore.send(
      new GetUserIdCommand({
        IdentityStoreId: IDENTITY_STORE_ID,
        AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: userName } },
      }),
    );
    return output.UserId;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

export async function groupIdOf(world: HandlerWorld, displayName: string): Promise<string | undefined> {
  try {
    const output = await world.identityStore.send(
      new GetGroupIdCommand({
        IdentityStoreId: IDENTITY_STORE_ID,
        AlternateIdentifier: { UniqueAttribute: { AttributePath: 'displayName', AttributeValue: displayName } },
      }),
    );
    return output.GroupId;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** Display names of the groups the user is a member of, sorted. */
export async function groupsOf(world: HandlerWorld, userName: string): Promise<string[]> {
  const userId = await userIdOf(world, userName);
  if (!userId) throw new Error(`no user ${userName} in the identity store`);
  const { GroupMemberships = [] } = await world.identityStore.send(
    new ListGroupMembershipsForMemberCommand({ IdentityStoreId: IDENTITY_STORE_ID, MemberId: { UserId: userId } }),
  );
  const names = await Promise.all(
    GroupMemberships.map(async (membership) => {
      const group = await world.identityStore.send(
        new DescribeGroupCommand({ IdentityStoreId: IDENTITY_STORE_ID, GroupId: membership.GroupId }),
      );
      return group.DisplayName!;
    }),
  );
  return names.sort();
}

/** The outcome records of one event, oldest first. */
export async function outcomesOf(world: HandlerWorld, eventId: string): Promise<OutcomeRecord[]> {
  const { records } = await world.audit.eventHistory(eventId);
  return records.filter((record) => record.kind === 'OUTCOME');
}

/** Every audit record (OUTCOME and WRITE) of one event, oldest first. */
export async function auditRecordsOf(world: HandlerWorld, eventId: string) {
  return (await world.audit.eventHistory(eventId)).records;
}

/** Identity Store writes the audit trail holds for one event. */
export async function auditedWritesOf(world: HandlerWorld, eventId: string): Promise<string[]> {
  const { records } = await world.audit.eventHistory(eventId);
  return records.flatMap((record) => (record.kind === 'WRITE' ? [record.action] : []));
}

export interface OutcomeEventDetail {
  eventId: string;
  type?: string;
  outcome: string;
  identityStoreId?: string;
  userId?: string;
  groupId?: string;
  errorCode?: string;
  producer?: string;
  senderId?: string;
  attempt: number;
}

/** The outcome events the handler published for one event id. */
export function outcomeEventsOf(world: HandlerWorld, eventId: string): { detailType: string; source: string; detail: OutcomeEventDetail }[] {
  return world.eventBridge
    .events(BUS_NAME)
    .filter((event) => (event.detail as OutcomeEventDetail).eventId === eventId)
    .map((event) => ({ detailType: event['detail-type'], source: event.source, detail: event.detail as OutcomeEventDetail }));
}

/** DLQ messages with their string message attributes flattened. */
export function deadLetters(world: HandlerWorld): { body: string; attributes: Record<string, string | undefined> }[] {
  return world.sqs.queue(world.deadLetterQueue.name).messages.map((message) => ({
    body: message.body,
    attributes: Object.fromEntries(Object.entries(message.messageAttributes).map(([name, value]) => [name, value.StringValue])),
  }));
}
