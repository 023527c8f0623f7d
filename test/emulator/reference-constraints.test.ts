/**
 * Constraints where the emulator used to be more lenient than the API: a group DisplayName is the
 * API's GroupDisplayName (no ideographic space, unlike the other text members), and Extensions is
 * a map of 1..10 entries. Plus the ExternalId pattern the event contract now mirrors: no
 * whitespace in Issuer or Id.
 */
import {
  CreateGroupCommand,
  CreateUserCommand,
  DescribeGroupCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  UpdateGroupCommand,
  UpdateUserCommand,
  ValidationException,
} from '@aws-sdk/client-identitystore';
import type { RunningEmulator } from '../../local/emulator';
import { STORE_ID, clientFor, failureOf, startQuiet, validUser } from './helpers';

let emulator: RunningEmulator;
let client: IdentitystoreClient;

beforeAll(async () => {
  emulator = await startQuiet();
  client = clientFor(emulator);
});
afterAll(async () => {
  client.destroy();
  await emulator.stop();
});

const validationOf = async (promise: Promise<unknown>) => {
  const error = await failureOf(promise);
  expect(error).toBeInstanceOf(ValidationException);
  return error.message;
};

const GROUP_DISPLAY_NAME_RULE =
  "Value at 'displayName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\t\\n\\r \\u00A0]+";

describe('group DisplayName (GroupDisplayName)', () => {
  it('refuses an ideographic space on CreateGroup', async () => {
    expect(await validationOf(client.send(new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: 'Platform\u3000Team' })))).toBe(
      `1 validation errors detected: ${GROUP_DISPLAY_NAME_RULE}`,
    );
  });

  it('refuses an ideographic space on UpdateGroup, and changes nothing', async () => {
    const { GroupId } = await client.send(new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: 'Platform' }));
    const message = await validationOf(
      client.send(
        new UpdateGroupCommand({ IdentityStoreId: STORE_ID, GroupId, Operations: [{ AttributePath: 'displayName', AttributeValue: 'Platform\u3000Team' }] }),
      ),
    );
    expect(message).toContain('Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\t\\n\\r \\u00A0]+');
    expect((await client.send(new DescribeGroupCommand({ IdentityStoreId: STORE_ID, GroupId }))).DisplayName).toBe('Platform');
  });

  it('takes spaces, a NBSP, tabs and line breaks inside, and an ideographic space in the Description', async () => {
    const { GroupId } = await client.send(
      new CreateGroupCommand({ IdentityStoreId: STORE_ID, DisplayName: 'Ops Team\u00a0EU\t1', Description: 'Ops\u3000EU' }),
    );
    const group = await client.send(new DescribeGroupCommand({ IdentityStoreId: STORE_ID, GroupId }));
    expect(group).toMatchObject({ DisplayName: 'Ops Team\u00a0EU\t1', Description: 'Ops\u3000EU' });
  });

  it('still takes an ideographic space in the text members of a user (SensitiveStringType)', async () => {
    await client.send(new CreateUserCommand({ ...validUser('wide.space'), DisplayName: 'Wide\u3000Space', Title: 'Chief\u3000Engineer' }));
  });
});

describe('Extensions (a map of 1..10 entries)', () => {
  it('refuses an empty map on CreateUser', async () => {
    expect(await validationOf(client.send(new CreateUserCommand({ ...validUser('empty.extensions'), Extensions: {} })))).toBe(
      "1 validation errors detected: Value at 'extensions' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  it('takes the enterprise extension, and a removal of it by UpdateUser', async () => {
    const { UserId } = await client.send(
      new CreateUserCommand({ ...validUser('with.extension'), Extensions: { 'aws:identitystore:enterprise': { costCenter: '4130' } } }),
    );
    await client.send(
      new UpdateUserCommand({ IdentityStoreId: STORE_ID, UserId, Operations: [{ AttributePath: 'aws:identitystore:enterprise' }] }),
    );
  });
});

describe('ExternalId (Issuer and Id: no whitespace)', () => {
  it.each([
    ['an Id with a space', { Issuer: 'hr-system', Id: 'E 1906' }, 'alternateIdentifier.externalId.id'],
    ['an Id with a NBSP', { Issuer: 'hr-system', Id: 'E\u00a01906' }, 'alternateIdentifier.externalId.id'],
    ['an Issuer with a tab', { Issuer: 'hr\tsystem', Id: 'E-1906' }, 'alternateIdentifier.externalId.issuer'],
  ])('refuses %s on GetUserId', async (_name, ExternalId, path) => {
    expect(await validationOf(client.send(new GetUserIdCommand({ IdentityStoreId: STORE_ID, AlternateIdentifier: { ExternalId } })))).toContain(
      `Value at '${path}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+`,
    );
  });
});
