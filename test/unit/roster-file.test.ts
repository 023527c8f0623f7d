/**
 * cli/roster.ts: CSV (RFC 4180 quoting, CRLF, a byte order mark, ; between groups) and JSON Lines
 * rosters into user.upserted data, validated with the contract; every problem named by
 * file:line and field (CSV: column), unknown fields refused with the closest one, duplicates refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatOf, parseCsv, parseRosterText, readRoster, RosterError } from '../../cli/roster';

const problemsOf = (text: string, format: 'csv' | 'jsonl'): string[] => {
  try {
    parseRosterText(text, `r.${format}`, format);
  } catch (error) {
    if (error instanceof RosterError) return error.problems;
    throw error;
  }
  throw new Error('expected the roster to be refused');
};

const HEADER = 'userName,displayName,givenName,familyName,email,title,externalId,groups';

describe('CSV', () => {
  it('reads quoted cells with commas, quotes and line breaks, CRLF, a byte order mark, and ; between groups', () => {
    const text = `\uFEFF${HEADER}\r\nada,"Lovelace, Ada",Ada,Lovelace,ada@example.com,"The ""first"" programmer",workday/W-1,"Everyone; Engineering"\r\ngrace,"Grace\r\nHopper",Grace,Hopper,,,,\r\n`;
    const { people } = parseRosterText(text, 'r.csv', 'csv');
    expect(people).toEqual([
      {
        at: 'r.csv:2',
        line: 2,
        data: {
          user: {
            UserName: 'ada',
            DisplayName: 'Lovelace, Ada',
            Name: { GivenName: 'Ada', FamilyName: 'Lovelace' },
            Emails: [{ Value: 'ada@example.com', Type: 'work', Primary: true }],
            Title: 'The "first" programmer',
            ExternalIds: [{ Issuer: 'workday', Id: 'W-1' }],
          },
          groups: ['Everyone', 'Engineering'],
        },
      },
      // An empty cell leaves the attribute out; an empty groups cell is no groups.
      { at: 'r.csv:3', line: 3, data: { user: { UserName: 'grace', DisplayName: 'Grace\r\nHopper', Name: { GivenName: 'Grace', FamilyName: 'Hopper' } }, groups: [] } },
    ]);
  });

  it('keeps a cell beginning with = + - @ as the text it is (never a formula)', () => {
    const text = `userName,displayName,givenName,familyName,title,groups\n@ada,"=HYPERLINK(""http://x"")",+Ada,-Lovelace,=1+2,`;
    const [person] = parseRosterText(text, 'r.csv', 'csv').people;
    expect(person.data.user).toMatchObject({ UserName: '@ada', DisplayName: '=HYPERLINK("http://x")', Name: { GivenName: '+Ada', FamilyName: '-Lovelace' }, Title: '=1+2' });
  });

  it('lists a group once however its case is written, and refuses a look-alike with a no-break space at its end', () => {
    const [person] = parseRosterText('userName,displayName,givenName,familyName,groups\nada,Ada,Ada,L,Eng;ENG; eng ;Ops\n', 'r.csv', 'csv').people;
    expect(person.data.groups).toEqual(['Eng', 'Ops']);
    expect(problemsOf('userName,displayName,givenName,familyName,groups\nada,Ada,Ada,L,Everyone\u00a0\n', 'csv')).toEqual([
      'r.csv:2: groups (column 5): "Everyone\\u00a0" (entry 1): must not begin or end with whitespace',
    ]);
  });

  it('takes an ExternalId from separate issuer and id columns (an issuer with a /), and a header in any case', () => {
    const text = 'USERNAME,DisplayName,givenname,familyName,externalIdIssuer,externalIdId,Groups\nada,Ada,Ada,L,https://idp.example.com/,W/1,Eng\n';
    const [person] = parseRosterText(text, 'r.csv', 'csv').people;
    expect(person.data.user.ExternalIds).toEqual([{ Issuer: 'https://idp.example.com/', Id: 'W/1' }]);
  });

  it('refuses an unknown column with the closest field, and a header without userName or groups', () => {
    expect(problemsOf('userName,displayNme,groups\nada,Ada,\n', 'csv')).toEqual([expect.stringMatching(/^r\.csv:1: column 2 "displayNme": is not a roster field \(did you mean displayName\?\)/)]);
    expect(problemsOf('displayName,givenName\nAda,Ada\n', 'csv')).toEqual([
      'r.csv:1: no userName column (the header must name it)',
      "r.csv:1: no groups column (the header must name it: every person's complete list of groups, empty for none)",
    ]);
    expect(problemsOf('userName,groups,UserName\nada,,ada\n', 'csv')).toEqual(['r.csv:1: column 3: userName is already column 1']);
  });

  it('names every bad row by line and column with the contract\'s rule', () => {
    const text = [
      HEADER,
      'ada lovelace,Ada,Ada,Lovelace,,,workday/W-1,Engineering',
      'bob,,Bob,,,,nowhere,Administrator',
      'cy,Cy,Cy,C,,,,Eng ;; Ops',
      'dee,Dee,Dee,D,,,,too,many,cells',
    ].join('\n');
    expect(problemsOf(text, 'csv')).toEqual([
      'r.csv:5: has 10 cells, the header has 8 (a , inside a cell needs the cell in quotes)',
    ]);
    expect(problemsOf(text.split('\n').slice(0, 4).join('\n'), 'csv')).toEqual([
      'r.csv:2: userName (column 1): must be letters, digits or punctuation, without spaces',
      'r.csv:3: externalId (column 7): must be ISSUER/ID (e.g. workday/W-1000), got "nowhere" (an issuer with a / needs externalIdIssuer and externalIdId)',
    ]);
    expect(problemsOf([HEADER, 'bob,,Bob,,,,,Administrator'].join('\n'), 'csv')).toEqual([
      'r.csv:2: displayName (column 2): is required',
      'r.csv:2: familyName (column 4): is required',
      'r.csv:2: groups (column 8): "Administrator" (entry 1): is reserved by IAM Identity Center (Administrator, AWSAdministrators)',
    ]);
  });

  it('refuses a quote that is never closed and text after a closing quote, by line', () => {
    expect(problemsOf('userName,groups\nada,"Eng\n', 'csv')).toEqual(['r.csv:2: a quoted cell is never closed (a " without its closing ")']);
    expect(problemsOf('userName,groups\n"ada"x,Eng\n', 'csv')).toEqual(['r.csv:2: column 1: text after a closing quote (write "" for a quote inside a quoted cell)']);
    expect(problemsOf('userName,groups\nad"a,Eng\n', 'csv')).toEqual(['r.csv:2: column 1: a " inside an unquoted cell (quote the whole cell and write "" for the quote)']);
  });

  it('splits records at CRLF or LF, counting the lines a quoted cell spans', () => {
    expect(parseCsv('a,b\r\n"x\ny",z\n\nlast,"",\n', 'f')).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['x\ny', 'z'] },
      { line: 5, cells: ['last', '', ''] },
    ]);
  });
});

describe('JSON Lines', () => {
  const ada = { userName: 'ada', displayName: 'Ada', givenName: 'Ada', familyName: 'Lovelace', externalId: 'workday/W-1', groups: ['Everyone'], department: 'R&D', manager: 'W-0' };

  it('reads one person per line, blank lines skipped, the enterprise attributes in their extension', () => {
    const { people } = parseRosterText(`${JSON.stringify(ada)}\n\n${JSON.stringify({ ...ada, userName: 'bob', externalId: 'workday/W-2', groups: [] })}\n`, 'r.jsonl', 'jsonl');
    expect(people.map((p) => p.at)).toEqual(['r.jsonl:1', 'r.jsonl:3']);
    expect(people[0].data.user.Extensions).toEqual({ 'aws:identitystore:enterprise': { department: 'R&D', manager: { value: 'W-0' } } });
  });

  it('refuses unknown fields, wrong types, a duplicate key and a line that is not an object, each by line', () => {
    const lines = [
      JSON.stringify({ ...ada, titel: 'Engineer' }),
      JSON.stringify({ ...ada, userName: 'bob', title: 3 }),
      '{"userName": "cy", "userName": "cy2", "groups": []}',
      '["not", "an", "object"]',
      JSON.stringify({ ...ada, userName: 'dee', groups: 'Everyone;Eng' }),
      '{"userName": broken',
    ];
    const problems = problemsOf(lines.join('\n'), 'jsonl');
    expect(problems[0]).toMatch(/^r\.jsonl:1: titel: is not a roster field \(did you mean title\?\)/);
    expect(problems.slice(1, 5)).toEqual([
      'r.jsonl:2: title: must be a string, got a number',
      'r.jsonl:3: userName: appears more than once in the same object',
      'r.jsonl:4: expected a JSON object (one person per line), got an array',
      'r.jsonl:5: groups: must be an array of group names (strings), e.g. ["Everyone", "Engineering"]',
    ]);
    expect(problems[5]).toMatch(/^r\.jsonl:6: is not valid JSON/);
  });

  it('requires groups (the complete list, [] for none)', () => {
    const { groups, ...withoutGroups } = ada;
    void groups;
    expect(problemsOf(JSON.stringify(withoutGroups), 'jsonl')).toEqual(["r.jsonl:1: groups: is required (the person's complete list of groups; [] for none)"]);
  });
});

describe('duplicates', () => {
  it('refuses one person twice: the same userName in another case, or the same ExternalId under another name', () => {
    const row = (userName: string, externalId: string) => `${userName},${userName},G,F,,,${externalId},`;
    expect(problemsOf([HEADER, row('ada', 'w/1'), row('ADA', 'w/2'), row('bob', 'w/1')].join('\n'), 'csv')).toEqual([
      'r.csv:3: userName "ADA" is already line 2 ("ada"): one row per person (names compare without regard to case)',
      'r.csv:4: externalId w/1 is already line 2 ("ada"): one row per person',
    ]);
  });

  it('finds a person twice even when one of the rows breaks another rule', () => {
    expect(problemsOf([HEADER, 'grace,Grace,Grace,,,,,', 'GRACE,Grace,Grace,Hopper,,,,'].join('\n'), 'csv')).toEqual([
      'r.csv:2: familyName (column 4): is required',
      'r.csv:3: userName "GRACE" is already line 2 ("grace"): one row per person (names compare without regard to case)',
    ]);
  });
});

describe('readRoster', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'roster-file-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells CSV from JSON Lines by the name, else by the content, and gives the file\'s digest', () => {
    const csv = join(dir, 'people.txt');
    writeFileSync(csv, 'userName,displayName,givenName,familyName,groups\nada,Ada,Ada,L,Eng\n');
    const roster = readRoster(csv);
    expect(roster).toMatchObject({ path: csv, format: 'csv', digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(formatOf('x.CSV', '{')).toBe('csv');
    expect(formatOf('x.ndjson', 'userName')).toBe('jsonl');
    expect(formatOf('x', '\uFEFF  {"userName"')).toBe('jsonl');
  });

  it('refuses a missing file and one that is not UTF-8', () => {
    expect(() => readRoster(join(dir, 'none.csv'))).toThrow(/cannot read roster .*none\.csv: no such file/);
    const latin1 = join(dir, 'latin1.csv');
    writeFileSync(latin1, Buffer.from([0x75, 0x73, 0x65, 0x72, 0x4e, 0x61, 0x6d, 0x65, 0x0a, 0xe9, 0x0a]));
    expect(() => readRoster(latin1)).toThrow('not UTF-8 text');
  });

  it('reads an empty file as a roster of no one', () => {
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    expect(readRoster(empty).people).toEqual([]);
  });
});
