/**
 * One name normalisation everywhere (lambdas/domain/names.ts): the folded key the store compares
 * names by, the wider key the reserved-name check compares by, and the places that must use
 * them: the managed-group scope as the deployment settings configure it, producer grants, and
 * ordering keys.
 */
import { parseProvisionerSettings } from '../../lib/config';
import { isInManagedScope, mayCreateGroup, type ManagedGroupScope } from '../../lambdas/domain/managed-scope';
import { isReservedName, nameKey, reservedNameKey, sameName, trimWhiteSpace } from '../../lambdas/domain/names';
import { subjectKey } from '../../lambdas/domain/ordering';
import type { ProcessingStatePort } from '../../lambdas/domain/ports';
import { managedGroupScopeSchema } from '../../lambdas/shared/config';
import { groupInGrant } from '../../lambdas/shared/producers';

describe('nameKey', () => {
  it('folds case, and nothing else', () => {
    expect(nameKey('Engineering')).toBe('engineering');
    expect(sameName('Grace.Hopper', 'grace.HOPPER')).toBe(true);
    expect(sameName('Engineering', 'Engineering ')).toBe(false);
    expect(sameName('Engineering', 'Ｅｎｇｉｎｅｅｒｉｎｇ')).toBe(false);
    expect(sameName('Engineering', '\u0415ngineering')).toBe(false); // Cyrillic Е
  });
});

describe('the reserved-name key', () => {
  it.each([
    ['Administrator'],
    ['administrator'],
    ['ADMINISTRATOR'],
    ['Administrator '],
    ['\u00a0Administrator'],
    ['Administrator\u3000'],
    ['Administrator\u0085'], // next line: White_Space, though String#trim keeps it
    ['\u2003AWSAdministrators\u2028'],
    ['Ａｄｍｉｎｉｓｔｒａｔｏｒ'],
    ['ａｗｓａｄｍｉｎｉｓｔｒａｔｏｒｓ'],
    ['AWSAdminiſtrators'], // the long s
  ])('%j is reserved', (name) => {
    expect(isReservedName(name)).toBe(true);
  });

  it.each([
    ['\u0410dministrator', 'Cyrillic А: another letter, not another form of A'],
    ['Adm\u0456nistrator', 'Cyrillic і'],
    ['Admin istrator', 'an inner space'],
    ['Administrators', 'another word'],
    ['\ufeffAdministrator', 'a byte order mark: not whitespace (the contract refuses it by pattern)'],
  ])('%j is not (%s)', (name) => {
    expect(isReservedName(name)).toBe(false);
  });

  it('normalises, trims and folds', () => {
    expect(reservedNameKey('\u3000ＡＷＳ Admins\u00a0')).toBe('aws admins');
  });
});

describe('trimWhiteSpace', () => {
  it('trims every White_Space character and nothing else', () => {
    expect(trimWhiteSpace('\u0085\u00a0\u3000\t x \n\u2029')).toBe('x');
    expect(trimWhiteSpace('\ufeffx')).toBe('\ufeffx');
    expect(trimWhiteSpace('a  b')).toBe('a  b');
  });
});

describe('the managed-group scope compares names folded', () => {
  const state = { isManagedGroup: async () => false } as unknown as ProcessingStatePort;
  const group = (displayName: string) => ({ groupId: 'g-1', displayName });
  const inScope = (scope: ManagedGroupScope, name: string) => isInManagedScope(scope, group(name), state);

  /** As the function reads it: MANAGED_GROUP_SCOPE, the deployment setting's text, unchanged. */
  const deployed = (setting: string): ManagedGroupScope =>
    managedGroupScopeSchema.parse(parseProvisionerSettings({ identityStoreId: 'd-1234567890', managedGroupScope: setting }).managedGroupScope);

  it('list:Engineering manages engineering and ENGINEERING, for updates and creation alike', async () => {
    const scope = deployed('list:Engineering, Platform');
    for (const name of ['Engineering', 'engineering', 'ENGINEERING', 'platform']) {
      expect(await inScope(scope, name)).toBe(true);
      expect(mayCreateGroup(scope, name)).toBe(true);
    }
    for (const name of ['Engineering2', 'Eng', 'Ｅｎｇｉｎｅｅｒｉｎｇ', '\u0415ngineering']) {
      expect(await inScope(scope, name)).toBe(false);
      expect(mayCreateGroup(scope, name)).toBe(false);
    }
  });

  it('prefix:App- manages app-wiki and APP-WIKI, not a look-alike', async () => {
    const scope = deployed('prefix:App-');
    for (const name of ['App-Wiki', 'app-wiki', 'APP-WIKI', 'app-']) {
      expect(await inScope(scope, name)).toBe(true);
      expect(mayCreateGroup(scope, name)).toBe(true);
    }
    for (const name of ['ap-wiki', 'apps-wiki', '\u0430pp-wiki', 'wiki-app-']) {
      expect(await inScope(scope, name)).toBe(false);
      expect(mayCreateGroup(scope, name)).toBe(false);
    }
  });

  it('a lower-case setting manages a mixed-case group', async () => {
    expect(await inScope(deployed('list:engineering'), 'Engineering')).toBe(true);
    expect(await inScope(deployed('prefix:app-'), 'App-Wiki')).toBe(true);
  });

  it('created: the recorded group ids decide, whatever the name', async () => {
    const managed = { isManagedGroup: async (id: string) => id === 'g-1' } as unknown as ProcessingStatePort;
    expect(await isInManagedScope(deployed('created'), group('anything'), managed)).toBe(true);
  });
});

describe('producer grants compare names folded', () => {
  it.each([
    ['Everyone', ['everyone'], true],
    ['EVERYONE', ['Everyone'], true],
    ['app-wiki', ['App-*'], true],
    ['APP-WIKI', ['app-*'], true],
    ['Dept-Eng', ['DEPT-*'], true],
    ['Everyone2', ['Everyone'], false],
    ['\u0430pp-wiki', ['app-*'], false],
    ['Ｅveryone', ['Everyone'], false],
  ])('%j against %j: %s', (name, patterns, allowed) => {
    expect(groupInGrant(name, patterns)).toBe(allowed);
  });
});

describe('ordering keys fold names the same way', () => {
  it('keys a user, a group and a membership by their folded names', () => {
    expect(subjectKey.userName('Grace.Hopper')).toBe(subjectKey.userName('grace.hopper'));
    expect(subjectKey.group('Engineering')).toBe(subjectKey.group('ENGINEERING'));
    expect(subjectKey.membership('Grace.Hopper', 'Engineering')).toBe(subjectKey.membership('grace.hopper', 'engineering'));
    expect(subjectKey.group('Engineering')).not.toBe(subjectKey.group('Ｅｎｇｉｎｅｅｒｉｎｇ'));
  });
});
