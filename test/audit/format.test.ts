import { formatRecords, orderedRecord, RECORD_FIELDS } from '../../cli/format';
import { auditTrail, OKTA, select } from './fixtures';

const trail = auditTrail();

describe('table format', () => {
  it('fits every line in 80 columns: a record starts a line, and what does not fit wraps under its column', () => {
    const lines = formatRecords(trail, 'table').trimEnd().split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+EVENT\s+SUBJECT\s+WHAT HAPPENED$/);
    const starts = lines.slice(1).filter((line) => /^\d{4}-\d\d-\d\dT/.test(line));
    expect(starts).toHaveLength(trail.length);
    const indent = lines[0]!.indexOf('WHAT HAPPENED');
    for (const line of lines.slice(1)) if (!starts.includes(line)) expect(line.slice(0, indent).trim()).toBe('');
  });

  it('never clips a reason, however narrow: the words come back whole when the lines are joined', () => {
    const [rejected] = select((r) => r.eventId === 'evt-admins' && r.kind === 'OUTCOME');
    for (const width of [60, 80, 160]) {
      const lines = formatRecords([rejected!], 'table', width).trimEnd().split('\n').slice(1);
      const indent = formatRecords([rejected!], 'table', width).indexOf('WHAT HAPPENED');
      const text = lines.map((line) => line.slice(indent).trim()).join(' ');
      expect(text).toContain('GROUP_NOT_MANAGED: group Admins is outside the managed scope (from okta-bridge)');
      expect(text).not.toContain('…');
    }
  });

  it('summarises outcomes and changes (given room)', () => {
    const table = formatRecords(select((r) => r.eventId === 'evt-move-ann' || r.eventId === 'evt-leave-carl'), 'table', 120);
    expect(table).toContain('2024-05-02T10:00:01Z evt-move-ann');
    expect(table).toContain('UpdateUser title: "Engineer" -> "Engineering Manager"');
    expect(table).toMatch(/ann +CreateGroupMembership Managers/);
    expect(table).toContain('user.upserted APPLIED (3 writes)');
    expect(table).toMatch(/user.deleted FAILED \(attempt 5\) DELETION_CAP_REACHED: deletion cap/);
  });

  it('names the verified producer at the end of an outcome', () => {
    const applied = select((r) => r.eventId === 'evt-move-ann' && r.kind === 'OUTCOME');
    expect(formatRecords(applied, 'table', 120)).toContain('user.upserted APPLIED (3 writes) (from hr)\n');
    const rejected = formatRecords(select((r) => r.eventId === 'evt-admins'), 'table', 200);
    expect(rejected).toMatch(/REJECTED GROUP_NOT_MANAGED: group Admins is outside the managed scope \(from okta-bridge\)$/m);
    // Writes carry their producer in json and csv; the table shows it once, on the outcome.
    expect(formatRecords(select((r) => r.eventId === 'evt-move-ann' && r.kind === 'WRITE'), 'table', 200)).not.toContain('(from');
  });

  it('wraps a change that does not fit in 80 columns instead of clipping it', () => {
    const table = formatRecords(select((r) => r.eventId === 'evt-move-ann'), 'table');
    expect(table).not.toContain('…');
    expect(table.replace(/\n\s+/g, ' ')).toContain('UpdateUser title: "Engineer" -> "Engineering Manager"');
  });

  it('uses a wider terminal when it has one', () => {
    const wide = formatRecords(trail, 'table', 160).split('\n');
    expect(Math.max(...wide.map((l) => l.length))).toBeGreaterThan(80);
  });

  it('says so when there is nothing', () => {
    expect(formatRecords([], 'table')).toBe('(no records)\n');
  });
});

describe('json format', () => {
  it('carries every field, in a fixed order, with times in UTC', () => {
    const [record] = select((r) => r.eventId === 'evt-join-bob' && r.kind === 'WRITE');
    const [parsed] = JSON.parse(formatRecords([record!], 'json'));
    expect(parsed).toEqual(record);
    expect(Object.keys(parsed)).toEqual(RECORD_FIELDS.filter((f) => f in record!));
  });

  it('prints times with an offset in UTC', () => {
    const [record] = trail;
    expect(orderedRecord({ ...record!, at: '2024-05-01T10:00:01+02:00' }).at).toBe('2024-05-01T08:00:01.000Z');
  });
});

describe('producer fields', () => {
  it('json and csv carry producer, via and senderId next to actor', () => {
    const [record] = select((r) => r.eventId === 'evt-admins');
    const [parsed] = JSON.parse(formatRecords([record!], 'json'));
    expect(parsed).toMatchObject({ producer: OKTA.producer, via: 'queue', senderId: OKTA.senderId, actor: 'okta-scim' });
    expect(RECORD_FIELDS.indexOf('producer')).toBe(RECORD_FIELDS.indexOf('actor') - 3);
    const [header, row] = formatRecords([record!], 'csv').split('\n');
    const cells = row!.split(',');
    const column = (name: string) => cells[header!.split(',').indexOf(name)];
    expect([column('producer'), column('via'), column('senderId'), column('actor')]).toEqual([OKTA.producer, 'queue', OKTA.senderId, 'okta-scim']);
  });

  it('prints a record from before producers were declared (no producer) without one', () => {
    const [record] = select((r) => r.eventId === 'evt-move-ann' && r.kind === 'OUTCOME');
    const legacy = { ...record!, producer: undefined, via: undefined, senderId: undefined } as unknown as typeof record;
    expect(formatRecords([legacy!], 'table')).toContain('user.upserted APPLIED (3 writes)\n');
    expect(Object.keys(JSON.parse(formatRecords([legacy!], 'json'))[0])).not.toContain('producer');
  });
});

describe('csv format', () => {
  it('has one fixed header and one row per record, quoting what needs it', () => {
    const [groupWrite] = select((r) => r.eventId === 'evt-group-eng' && r.kind === 'WRITE');
    const lines = formatRecords([groupWrite!], 'csv').split('\n');
    expect(lines[0]).toBe(RECORD_FIELDS.join(','));
    expect(lines[1]).toContain(
      '"[{""path"":""displayName"",""after"":""Engineering""},{""path"":""description"",""after"":""Builds things, \\""fast\\"", and ships""}]"',
    );
    expect(lines).toHaveLength(3);
  });

  it('prints only the header for no records', () => {
    expect(formatRecords([], 'csv')).toBe(`${RECORD_FIELDS.join(',')}\n`);
  });
});
