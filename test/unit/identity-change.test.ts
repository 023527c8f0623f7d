/**
 * The v1 contract's bounds (lambdas/domain/identity-change.ts), adversarially: look-alike and
 * padded names, blank values in every kind of field, ids with controls or counted the wrong way,
 * the enterprise extension's shape, and the API's own patterns (ExternalId, group DisplayName).
 */
import { identityChangeSchema } from '../../lambdas/domain/identity-change';
import { ada, events } from '../support/events';

/**
 * The issues as `path: message`, joined by "; " in the way rejection reasons name them
 * (`data.groups[1]: ...`; the bad-input corpus checks the real reasons end to end).
 */
function refusal(event: unknown): string | undefined {
  const parsed = identityChangeSchema.safeParse(event);
  if (parsed.success) return undefined;
  return parsed.error.issues
    .map((issue) => {
      const path = issue.path.reduce<string>(
        (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
        '',
      );
      const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
      return `${path || '(document)'}: ${missing ? 'is required' : issue.message}`;
    })
    .join('; ');
}

const withTop = (field: string, value: unknown) => ({ ...events.groupUpserted('Engineering'), [field]: value });
const userWith = (attributes: Record<string, unknown>) => events.userUpserted(ada(attributes));
const ENTERPRISE = 'aws:identitystore:enterprise';

describe('valid events stay valid', () => {
  it.each([
    ['a group with inner spaces and a NBSP inside', events.groupUpserted('Platform Team\u00a0EU')],
    ['a user with an enterprise extension', userWith({ Extensions: { [ENTERPRISE]: { employeeNumber: '701984', costCenter: '4130', organization: 'Universal Studios', division: 'Theme Park', department: 'Tour Operations', manager: { value: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE44444' } } } })],
    ['an ExternalId with punctuation and symbols', events.userDeleted({ externalId: { Issuer: 'https://hr.example.com/', Id: 'E-1906|ü+€' } })],
    ['text with an ideographic space inside', userWith({ Title: 'Chief\u3000Engineer' })],
    ['an id of 64 astral letters (128 UTF-16 units)', { ...events.groupDeleted('Engineering'), id: '\u{1d400}'.repeat(64) }],
    ['an id of 128 ASCII characters', { ...events.groupDeleted('Engineering'), id: 'i'.repeat(128) }],
    ['an actor with spaces', { ...events.groupDeleted('Engineering'), actor: 'HR System (nightly)' }],
    ['a reserved name as a substring', events.groupUpserted('Administrators of Wiki')],
  ])('%s', (_name, event) => {
    expect(refusal(event)).toBeUndefined();
  });
});

describe('reserved names, in any width, case or padding', () => {
  it.each([
    ['group.upserted, trailing space', events.groupUpserted('Administrator '), 'data.group.DisplayName'],
    ['group.upserted, trailing NBSP', events.groupUpserted('AWSAdministrators\u00a0'), 'data.group.DisplayName'],
    ['group.deleted, leading ideographic space', events.groupDeleted('\u3000Administrator'), 'data.displayName'],
    ['group.upserted, full-width letters', events.groupUpserted('Ａｄｍｉｎｉｓｔｒａｔｏｒ'), 'data.group.DisplayName'],
    ['group.upserted, the long s', events.groupUpserted('AWSAdminiſtrators'), 'data.group.DisplayName'],
    ['membership, full-width upper case', events.membership('membership.added', 'ada', 'ＡＷＳＡＤＭＩＮＩＳＴＲＡＴＯＲＳ'), 'data.groupDisplayName'],
    ['data.groups[], trailing tab', events.userUpserted(ada(), { groups: ['Everyone', 'administrator\t'] }), 'data.groups[1]'],
    ['UserName, full-width letters', userWith({ UserName: 'Ａｄｍｉｎｉｓｔｒａｔｏｒ' }), 'data.user.UserName'],
    ['UserName, mixed case', userWith({ UserName: 'awsADMINISTRATORS' }), 'data.user.UserName'],
  ])('%s', (_name, event, field) => {
    expect(refusal(event)).toContain(`${field}: is reserved by IAM Identity Center`);
  });

  it('does not catch look-alikes from other scripts (documented in names.ts): Cyrillic А is another letter', () => {
    expect(refusal(events.groupUpserted('\u0410dministrator'))).toBeUndefined();
  });
});

describe('names do not begin or end with whitespace', () => {
  it.each([
    ['group.upserted, trailing space', events.groupUpserted('Engineering '), 'data.group.DisplayName'],
    ['group.upserted, trailing NBSP', events.groupUpserted('Engineering\u00a0'), 'data.group.DisplayName'],
    ['group.deleted, leading tab', events.groupDeleted('\tEngineering'), 'data.displayName'],
    ['membership.added, trailing newline', events.membership('membership.added', 'ada', 'Engineering\n'), 'data.groupDisplayName'],
    ['membership.removed, leading space', events.membership('membership.removed', 'ada', ' Engineering'), 'data.groupDisplayName'],
    ['data.groups[], trailing ideographic space', events.userUpserted(ada(), { groups: ['Engineering\u3000'] }), 'data.groups[0]'],
    ['group.upserted, whitespace only', events.groupUpserted('   '), 'data.group.DisplayName'],
  ])('%s', (_name, event, field) => {
    expect(refusal(event)).toContain(`${field}: must not begin or end with whitespace`);
  });
});

describe('no string is empty or whitespace only', () => {
  it.each([
    ['user DisplayName, spaces', userWith({ DisplayName: '   ' }), 'data.user.DisplayName'],
    ['GivenName, ideographic space', userWith({ Name: { GivenName: '\u3000', FamilyName: 'Lovelace' } }), 'data.user.Name.GivenName'],
    ['FamilyName, NBSP', userWith({ Name: { GivenName: 'Ada', FamilyName: '\u00a0' } }), 'data.user.Name.FamilyName'],
    ['Title, a tab', userWith({ Title: '\t' }), 'data.user.Title'],
    ['email value, a newline', userWith({ Emails: [{ Value: '\n', Type: 'work', Primary: true }] }), 'data.user.Emails[0].Value'],
    ['address locality', userWith({ Addresses: [{ Locality: ' \u3000 ' }] }), 'data.user.Addresses[0].Locality'],
    ['photo value', userWith({ Photos: [{ Value: '  ' }] }), 'data.user.Photos[0].Value'],
    ['group Description', events.groupUpserted('Engineering', { description: '\u00a0\u00a0' }), 'data.group.Description'],
    ['enterprise department', userWith({ Extensions: { [ENTERPRISE]: { department: ' ' } } }), `data.user.Extensions.${ENTERPRISE}.department`],
    ['enterprise manager value', userWith({ Extensions: { [ENTERPRISE]: { manager: { value: '\u3000' } } } }), `data.user.Extensions.${ENTERPRISE}.manager.value`],
    ['actor, spaces', withTop('actor', '   '), 'actor'],
    ['actor, ideographic space', withTop('actor', '\u3000'), 'actor'],
  ])('%s', (_name, event, field) => {
    expect(refusal(event)).toContain(`${field}: must not be empty or whitespace only`);
  });

  it.each([
    ['id', withTop('id', '   ')],
    ['id (ideographic space)', withTop('id', '\u3000')],
  ])('%s: whitespace-only is refused by its character rule', (_name, event) => {
    expect(refusal(event)).toContain('id: must be letters, digits, punctuation or symbols: no whitespace or control characters');
  });

  it.each([
    ['UserName', userWith({ UserName: ' ' }), 'data.user.UserName'],
    ['user.deleted userName', events.userDeleted({ userName: '\u3000' }), 'data.userName'],
    ['ExternalId Id', events.userDeleted({ externalId: { Issuer: 'hr', Id: ' ' } }), 'data.externalId.Id'],
    ['ExternalId Issuer', events.userDeleted({ externalId: { Issuer: '\u00a0', Id: 'E-1' } }), 'data.externalId.Issuer'],
  ])('%s: whitespace-only is refused by the API pattern, which has no whitespace', (_name, event, field) => {
    expect(refusal(event)).toContain(`${field}: must be letters, digits`);
  });
});

describe('the event id', () => {
  const ID_RULE = 'id: must be letters, digits, punctuation or symbols: no whitespace or control characters';
  it.each([
    ['NUL', 'evt\u0000001'],
    ['a newline', 'evt-1\nforged log line'],
    ['a tab', 'evt\t1'],
    ['a carriage return', 'evt-1\r'],
    ['DEL', 'evt\u007f1'],
    ['a C1 control', 'evt\u00851'],
    ['a zero-width space (format)', 'evt\u200b1'],
    ['a right-to-left override (format)', 'evt\u202e1'],
    ['a byte order mark (format)', '\ufeffevt-1'],
    ['an inner space', 'evt 1'],
    ['a lone surrogate', 'evt-\ud800'],
  ])('refuses %s', (_name, id) => {
    expect(refusal(withTop('id', id))).toContain(ID_RULE);
  });

  it('counts its length in UTF-16 units, as the idempotency key does: 128 astral letters (256 units) are refused', () => {
    const id = '\u{1d400}'.repeat(128);
    expect(id.length).toBe(256);
    expect([...id].length).toBe(128);
    expect(refusal(withTop('id', id))).toMatch(/^id: Too big: expected string to have <=128 UTF-16 code units/);
  });

  it('refuses 65 astral letters (130 units) and accepts 64 (128 units)', () => {
    expect(refusal(withTop('id', '\u{1f600}'.repeat(65)))).toContain('id: Too big: expected string to have <=128');
    expect(refusal(withTop('id', '\u{1f600}'.repeat(64)))).toBeUndefined();
  });

  it('is taken as sent: the parsed id is the very string the idempotency key is built from', () => {
    const parsed = identityChangeSchema.parse(withTop('id', 'Evt-ｆｕｌｌ-1'));
    expect(parsed.id).toBe('Evt-ｆｕｌｌ-1');
  });
});

describe('the actor', () => {
  it.each([
    ['a newline', 'hr-system\nadmin'],
    ['NUL', 'hr\u0000'],
    ['a tab', 'hr\tsystem'],
    ['a line separator', 'hr\u2028system'],
    ['a right-to-left override', 'hr\u202esystem'],
  ])('refuses %s', (_name, actor) => {
    expect(refusal(withTop('actor', actor))).toContain('actor: must be printable text without control characters');
  });

  it('is at most 256 characters', () => {
    expect(refusal(withTop('actor', 'a'.repeat(257)))).toContain('actor: Too big: expected string to have <=256');
    expect(refusal(withTop('actor', 'a'.repeat(256)))).toBeUndefined();
  });
});

describe("the API's own patterns and lengths", () => {
  it.each([
    ['an ExternalId Id with a space', events.userDeleted({ externalId: { Issuer: 'hr-system', Id: 'E 1906' } }), 'data.externalId.Id'],
    ['an ExternalId Id with a NBSP', events.userDeleted({ externalId: { Issuer: 'hr-system', Id: 'E\u00a01906' } }), 'data.externalId.Id'],
    ['an ExternalId Issuer with a tab', events.userDeleted({ externalId: { Issuer: 'hr\tsystem', Id: 'E-1906' } }), 'data.externalId.Issuer'],
    ['an upserted ExternalId with a space', userWith({ ExternalIds: [{ Issuer: 'hr system', Id: 'E-1' }] }), 'data.user.ExternalIds[0].Issuer'],
  ])('refuses %s (the API: no whitespace at all)', (_name, event, field) => {
    expect(refusal(event)).toContain(`${field}: must be letters, digits, punctuation or symbols, without spaces`);
  });

  it('refuses an ExternalId Id of 257 characters and an Issuer of 101', () => {
    expect(refusal(events.userDeleted({ externalId: { Issuer: 'hr', Id: 'x'.repeat(257) } }))).toContain('data.externalId.Id: Too big');
    expect(refusal(events.userDeleted({ externalId: { Issuer: 'h'.repeat(101), Id: 'E-1' } }))).toContain('data.externalId.Issuer: Too big');
  });

  it('refuses an ideographic space inside a group DisplayName (GroupDisplayName has none), wherever a group is named', () => {
    const rule = 'must be printable text (letters, digits, punctuation, spaces; no ideographic space)';
    expect(refusal(events.groupUpserted('Platform\u3000Team'))).toContain(`data.group.DisplayName: ${rule}`);
    expect(refusal(events.groupDeleted('Platform\u3000Team'))).toContain(`data.displayName: ${rule}`);
    expect(refusal(events.membership('membership.added', 'ada', 'Platform\u3000Team'))).toContain(`data.groupDisplayName: ${rule}`);
    expect(refusal(events.userUpserted(ada(), { groups: ['Platform\u3000Team'] }))).toContain(`data.groups[0]: ${rule}`);
    // ...while the user's DisplayName and a group's Description (SensitiveStringType) may hold one.
    expect(refusal(events.groupUpserted('Platform', { description: 'Platform\u3000Team' }))).toBeUndefined();
  });
});

describe('Extensions: the enterprise extension only, as its attributes are', () => {
  it('refuses a value nested thousands deep where text belongs, without walking it', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(refusal(userWith({ Extensions: { [ENTERPRISE]: { department: deep } } }))).toBe(
      `data.user.Extensions.${ENTERPRISE}.department: Invalid input: expected string, received object`,
    );
  });

  it('refuses an unknown enterprise attribute, and an unknown member of manager', () => {
    expect(refusal(userWith({ Extensions: { [ENTERPRISE]: { employeeNumber: '1', nickname: 'x' } } }))).toBe(
      `data.user.Extensions.${ENTERPRISE}: Unrecognized key: "nickname"`,
    );
    expect(refusal(userWith({ Extensions: { [ENTERPRISE]: { manager: { value: 'u-1', displayName: 'Boss' } } } }))).toBe(
      `data.user.Extensions.${ENTERPRISE}.manager: Unrecognized key: "displayName"`,
    );
  });

  it('refuses a number, a list or an empty string where text belongs, and a manager without value', () => {
    expect(refusal(userWith({ Extensions: { [ENTERPRISE]: { employeeNumber: 701984 } } }))).toContain('employeeNumber: Invalid input: expected string');
    expect(refusal(userWith({ Extensions: { [ENTERPRISE]: { costCenter: ['4130'] } } }))).toContain('costCenter: Invalid input: expected string');
    expect(refusal(userWith({ Extensions: { [ENTERPRISE]: { division: '' } } }))).toContain('division: Too small');
    expect(refusal(userWith({ Extensions: { [ENTERPRISE]: { manager: {} } } }))).toContain('manager.value: is required');
  });

  it('bounds text values at 1024 characters', () => {
    expect(refusal(userWith({ Extensions: { [ENTERPRISE]: { organization: 'o'.repeat(1025) } } }))).toContain('organization: Too big');
  });

  it('refuses an empty Extensions map (the API takes 1..10 entries) and any other extension', () => {
    expect(refusal(userWith({ Extensions: {} }))).toBe(`data.user.Extensions.${ENTERPRISE}: is required`);
    expect(refusal(userWith({ Extensions: { [ENTERPRISE]: {}, 'aws:identitystore:custom': {} } }))).toBe(
      'data.user.Extensions: Unrecognized key: "aws:identitystore:custom"',
    );
  });
});
