/**
 * `--format html`: one self-contained page an auditor can attach to a ticket. It carries every
 * fact the table shows, and whatever the events sent comes out as text, never as markup.
 */
import type { AuditRecord, DriftAuditRecord } from '../../lambdas/adapters/dynamodb-audit-log';
import { formatRecords, OUTPUT_FORMATS } from '../../cli/format';
import { recordsToHtml, renderHtmlPage } from '../../cli/format-html';
import { projectVersion } from '../../cli/conventions';
import { auditTrail, select } from '../audit/fixtures';

const CONTEXT = { title: 'History of ann', subtitle: 'npm run audit -- user ann', generatedAt: new Date('2026-12-02T05:00:00.000Z'), source: 'table identity-provisioner-audit' };

const drift: DriftAuditRecord = {
  kind: 'DRIFT',
  at: '2024-05-05T06:00:00.000Z',
  identityStoreId: 'd-1234567890',
  findingKey: 'attribute:u-ann:title',
  drift: 'attribute-differs',
  summary: 'title of ann differs from what this service set',
  userId: 'u-ann',
  userName: 'ann',
  path: 'title',
  expected: 'Engineering Manager',
  actual: 'CEO',
  firstSeen: '2024-05-04T06:00:00.000Z',
  eventId: 'evt-move-ann',
  occurredAt: '2024-05-02T09:55:00.000Z',
  driftAction: 'repair',
  repairEventId: 'evt-repair-1',
};

const HOSTILE = {
  script: '<script>alert(1)</script>',
  attribute: '"><img src=x onerror=alert(1)>',
  entity: '&amp;',
  long: `${'reason '.repeat(1428)}end`.padEnd(10_000, 'x'),
  rtl: 'evil\u202Etxt.exe',
  zeroWidth: 'ad\u200Bmin',
  external: '<link rel=stylesheet href=https://evil.example/x.css>',
};

/** A record carrying hostile text in every field an event can fill. */
function hostileRecords(): AuditRecord[] {
  return [
    {
      kind: 'OUTCOME', eventId: HOSTILE.script, attempt: 1, at: '2024-05-03T07:00:00.000Z', receivedAt: '2024-05-03T06:59:58.500Z', source: HOSTILE.entity,
      producer: 'okta-bridge', via: 'queue', senderId: 'AROA444455556666OKTA:scim-sync', actor: HOSTILE.attribute, type: 'membership.added',
      userName: HOSTILE.rtl, groupDisplayName: HOSTILE.zeroWidth, outcome: 'REJECTED', errorCode: 'GROUP_NOT_MANAGED', errorMessage: HOSTILE.long, writes: 0, waitedMs: 0,
    },
    {
      kind: 'WRITE', eventId: 'evt-hostile', attempt: 1, sequence: 0, at: '2024-05-03T07:00:01.000Z', action: 'UpdateUser', actor: HOSTILE.external, identityStoreId: 'd-1234567890',
      producer: 'hr', via: 'bus', senderId: 'AIDAEVENTBRIDGERULE', userId: 'u-x', userName: HOSTILE.attribute, attempts: 1, waitedMs: 0,
      changes: [{ path: HOSTILE.script, before: HOSTILE.entity, after: HOSTILE.attribute }],
    },
    { ...drift, summary: HOSTILE.script, actual: HOSTILE.attribute, notRepaired: HOSTILE.external, repairEventId: undefined },
  ];
}

const ALLOWED_TAGS = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'header', 'main', 'section', 'footer', 'h1', 'h2', 'p', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span']);
const VOID_TAGS = new Set(['meta']);
const ALLOWED_ATTRIBUTES = new Set(['lang', 'charset', 'http-equiv', 'content', 'name', 'class', 'scope', 'title']);

/** Every tag of the page, with its name and attributes (the style sheet holds no `<`). */
function tags(html: string): { name: string; closing: boolean; attributes: string[]; raw: string }[] {
  const body = html.replace(/^<!DOCTYPE html>\n/, '');
  return [...body.matchAll(/<[^>]*>/g)].map(([raw]) => {
    const match = /^<(\/?)([a-zA-Z0-9-]+)((?:\s+[a-z-]+="[^"<>]*")*)\s*>$/.exec(raw);
    if (!match) return { name: `(malformed) ${raw}`, closing: false, attributes: [], raw };
    return { name: match[2]!.toLowerCase(), closing: match[1] === '/', attributes: [...match[3]!.matchAll(/([a-z-]+)="/g)].map((m) => m[1]!), raw };
  });
}

/** Only the page's own elements and attributes: any injected markup shows up here. */
function expectOnlyOwnMarkup(html: string): void {
  for (const tag of tags(html)) {
    expect({ tag: tag.raw, allowed: ALLOWED_TAGS.has(tag.name) }).toEqual({ tag: tag.raw, allowed: true });
    for (const attribute of tag.attributes) expect({ tag: tag.raw, attribute, allowed: ALLOWED_ATTRIBUTES.has(attribute) }).toEqual({ tag: tag.raw, attribute, allowed: true });
  }
}

/** Every element is closed, in order, and the document has one html, head and body. */
function expectWellFormed(html: string): void {
  expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')).toBe(true);
  const open: string[] = [];
  for (const tag of tags(html)) {
    if (VOID_TAGS.has(tag.name)) continue;
    if (!tag.closing) open.push(tag.name);
    else expect({ closing: tag.name, open: open.pop() }).toEqual({ closing: tag.name, open: tag.name });
  }
  expect(open).toEqual([]);
  for (const name of ['html', 'head', 'body', 'title', 'style']) expect(tags(html).filter((tag) => tag.name === name && !tag.closing)).toHaveLength(1);
  expect(html.match(/<tr>/g)?.length).toBe(html.match(/<\/tr>/g)?.length);
}

/** The page as a reader sees it: tags dropped, entities decoded (only for checking facts). */
function readable(html: string): string {
  return html
    .replace(/<style>[^<]*<\/style>/, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')
    .replace(/[ \n]+/g, ' ');
}

/** The text of each table row, one string per row. */
function rowTexts(html: string): string[] {
  return [...html.matchAll(/<tr>(.*?)<\/tr>/gs)].map(([row]) => readable(row));
}

describe('recordsToHtml: the facts of each record', () => {
  const records = [...select((r) => r.eventId === 'evt-move-ann' || r.eventId === 'evt-admins' || r.eventId === 'evt-join-bob'), drift];
  const html = recordsToHtml(records, CONTEXT);
  const rows = rowTexts(html).slice(1);

  it('one row per record, in the order given', () => {
    expect(rows).toHaveLength(records.length);
    records.forEach((record, i) => expect(rows[i]).toContain(record.at.replace(/\.\d{3}Z$/, 'Z')));
  });

  it('an outcome: time, event, subject, type and outcome, producer and actor, reason', () => {
    const rejected = rows.find((row) => row.includes('evt-admins'));
    expect(rejected).toContain('2024-05-03T07:00:00Z');
    expect(rejected).toContain('user ann');
    expect(rejected).toContain('group Admins');
    expect(rejected).toContain('membership.added Admins REJECTED');
    expect(rejected).toContain('producer okta-bridge (via queue)');
    expect(rejected).toContain('actor okta-scim');
    expect(rejected).toContain('GROUP_NOT_MANAGED: group Admins is outside the managed scope');
    const retried = rows.find((row) => row.includes('evt-join-bob') && row.includes('APPLIED'));
    expect(retried).toContain('user.upserted APPLIED (attempt 2) (1 write)');
    const throttled = rows.find((row) => row.includes('RETRYING'));
    expect(throttled).toContain('IDENTITY_STORE_THROTTLED: Rate exceeded');
  });

  it('a write with changes: the action, and each change as path: before → after on its own line', () => {
    const update = rows.find((row) => row.includes('UpdateUser'));
    expect(update).toContain('2024-05-02T10:00:01Z');
    expect(update).toContain('evt-move-ann');
    expect(update).toContain('user ann (u-ann)');
    expect(update).toContain('producer hr (via bus)');
    expect(update).toContain('title: "Engineer" → "Engineering Manager"');
    const created = recordsToHtml(select((r) => r.eventId === 'evt-join-bob' && r.kind === 'WRITE'), CONTEXT);
    expect(created).toMatch(/<td>userName: \(not set\) → &quot;bob&quot;\nnickName: \(not set\) → &quot;&quot;\n/);
    expect(rows.find((row) => row.includes('CreateGroupMembership'))).toContain('CreateGroupMembership Managers');
  });

  it('a drift finding: what differs, expected and found, since when, the repair', () => {
    const finding = rows.find((row) => row.includes('Drift finding'));
    expect(finding).toContain('2024-05-05T06:00:00Z');
    expect(finding).toContain('evt-move-ann');
    expect(finding).toContain('DRIFT title differs');
    expect(finding).toContain('title: "Engineering Manager" applied → "CEO" found');
    expect(finding).toContain('first seen 2024-05-04T06:00:00Z');
    expect(finding).toContain('repair sent: evt-repair-1');
  });

  it('leaves out an intent its WRITE confirms, as the table does, and shows one that none confirms', () => {
    const [update] = select((r) => r.eventId === 'evt-move-ann' && r.kind === 'WRITE');
    const { kind: _kind, changes: _changes, requestId: _requestId, attempts: _attempts, waitedMs: _waited, ...intentFields } = update as Extract<AuditRecord, { kind: 'WRITE' }>;
    const intent: AuditRecord = { kind: 'INTENT', ...intentFields };
    const confirmed = recordsToHtml([intent, update!], CONTEXT);
    expect(rowTexts(confirmed).slice(1)).toHaveLength(1);
    expect(confirmed).not.toContain('unconfirmed');
    expect(confirmed).toContain('1 write intent not shown');
    const lost = recordsToHtml([intent], CONTEXT);
    expect(rowTexts(lost).slice(1)).toHaveLength(1);
    expect(readable(lost)).toContain('UpdateUser tried, unconfirmed (attempt 1)');
  });

  it('times are UTC and say so; the footer names when, what was read, and the version', () => {
    const offset = recordsToHtml([{ ...records[0]!, at: '2024-05-02T12:00:01+02:00' }], CONTEXT);
    expect(rowTexts(offset)[1]).toContain('2024-05-02T10:00:01Z');
    expect(html).toContain('All times are UTC');
    expect(html).toContain('<th scope="col">Time (UTC)</th>');
    expect(html).toMatch(/<footer>Generated 2026-12-02T05:00:00Z \(UTC\) from table identity-provisioner-audit by identity-provisioner ([^ ]+) /);
    expect(html).toContain(`identity-provisioner ${projectVersion()} `);
    expect(html).toContain('<title>History of ann: npm run audit -- user ann</title>');
  });

  it('is self-contained and prints well: inline style only, wrapping values, headers repeated on every page', () => {
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;[^"]*">/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/url\(|@import|<script|<link|src=/i);
    expect(html).toContain('overflow-wrap: anywhere');
    expect(html).toContain('@page { size: A4 landscape');
    expect(html).toContain('thead { display: table-header-group; }');
    expect(html).toMatch(/<table>\n<thead><tr>(<th scope="col">[^<]+<\/th>){7}<\/tr><\/thead>\n<tbody>/);
    expectWellFormed(html);
    expectOnlyOwnMarkup(html);
  });

  it('says when no records were found', () => {
    const empty = recordsToHtml([], CONTEXT);
    expect(empty).toContain('<p class="note">No records were found.</p>');
    expect(empty).not.toContain('<table>');
    expectWellFormed(empty);
  });
});

describe('recordsToHtml: what the events sent is text, never markup', () => {
  const html = recordsToHtml(hostileRecords(), { ...CONTEXT, title: HOSTILE.script, subtitle: HOSTILE.attribute, source: HOSTILE.external });

  it('no script and no attribute can be injected: every tag on the page is the page’s own', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<link/i);
    // onerror= only ever inside escaped text, where it is inert.
    expect(html.split('onerror=').length).toBeGreaterThan(1);
    expect(html.split('onerror=').length).toBe(html.split('&lt;img src=x onerror=').length);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expectOnlyOwnMarkup(html);
    expectWellFormed(html);
  });

  it('escapes in the title, subtitle, source and every column', () => {
    expect(html).toContain('<title>&lt;script&gt;alert(1)&lt;/script&gt;: &quot;&gt;&lt;img src=x onerror=alert(1)&gt;</title>');
    expect(html).toContain('<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>');
    expect(html).toContain('from &lt;link rel=stylesheet href=https://evil.example/x.css&gt; by');
    // A change path, before and after: the write's changes cell.
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;: &quot;&amp;amp;&quot; → &quot;\\&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&quot;');
  });

  it('an entity in a value is shown as typed, not decoded', () => {
    // The write's value before was the text `&amp;`: it must read `&amp;`, not `&`.
    expect(html).toContain('&quot;&amp;amp;&quot; →');
    expect(recordsToHtml([{ ...hostileRecords()[0]!, actor: 'R&amp;D' } as AuditRecord], CONTEXT)).toContain('actor R&amp;amp;D');
  });

  it('a 10,000-character reason comes out whole, in a cell that wraps', () => {
    expect(HOSTILE.long).toHaveLength(10_000);
    expect(html).toContain(`<td>GROUP_NOT_MANAGED: ${HOSTILE.long}</td>`);
    expect(html).toMatch(/th, td \{[^}]*overflow-wrap: anywhere;/);
  });

  it('bidirectional overrides and zero-width characters are shown as their code points, not hidden', () => {
    expect(html).not.toContain('\u202E');
    expect(html).not.toContain('\u200B');
    expect(html).toContain('user evil<span class="cc" title="invisible character U+202E">U+202E</span>txt.exe');
    expect(html).toContain('group ad<span class="cc" title="invisible character U+200B">U+200B</span>min');
    // Right-to-left letters themselves are text like any other.
    expect(recordsToHtml([{ ...hostileRecords()[0]!, userName: 'مريم' } as AuditRecord], CONTEXT)).toContain('user مريم');
  });

  it('links to nothing: no external resource, whatever the values say', () => {
    const page = recordsToHtml(hostileRecords().map((record) => ({ ...record, eventId: 'evt-1' }) as AuditRecord), { ...CONTEXT, source: 'local .local/audit' });
    const markup = tags(page).map((tag) => tag.raw).join('');
    expect(markup).not.toMatch(/https?:|src=|href=/);
    expect(page.replace(/href=https:\/\/evil\.example\/x\.css&gt;/g, '')).not.toMatch(/https?:\/\//);
  });
});

describe('renderHtmlPage', () => {
  const page = renderHtmlPage({
    ...CONTEXT,
    title: 'Members of Engineering',
    subtitle: 'as of 2024-05-02T23:59:59Z',
    sections: [
      { heading: 'Members', columns: ['User', 'Since (UTC)'], rows: [['ann <ann@example.com>', '2024-05-01T09:00:02Z'], ['bob']] },
      { heading: 'Left', columns: ['User'], rows: [], note: 'Nobody left.' },
      { heading: 'Pending', columns: ['User'], rows: [] },
    ],
  });

  it('one table per section with rows, a note or "None." for an empty one', () => {
    expect(page.match(/<table>/g)).toHaveLength(1);
    expect(page).toContain('<tr><td>ann &lt;ann@example.com&gt;</td><td>2024-05-01T09:00:02Z</td></tr>');
    // A short row is padded: every row has a cell under every column.
    expect(page).toContain('<tr><td>bob</td><td></td></tr>');
    expect(page).toContain('<h2>Left</h2>\n<p class="note">Nobody left.</p>\n</section>');
    expect(page).toContain('<h2>Pending</h2>\n<p class="note">None.</p>\n</section>');
    expectWellFormed(page);
    expectOnlyOwnMarkup(page);
  });

  it('keeps a time on one line, and lets a long value in a time column wrap', () => {
    const times = renderHtmlPage({ ...CONTEXT, sections: [{ heading: 'Times', columns: ['Time (UTC)', 'What'], rows: [['2024-05-01T09:00:02Z', 'x'], ['x'.repeat(200), 'y']] }] });
    expect(times).toContain('<tr><td class="time">2024-05-01T09:00:02Z</td><td>x</td></tr>');
    expect(times).toContain(`<tr><td>${'x'.repeat(200)}</td><td>y</td></tr>`);
  });
});

describe('formatRecords html', () => {
  it('is one of the output formats, and routes to the page with its context', () => {
    expect(OUTPUT_FORMATS).toContain('html');
    const records = select((r) => r.eventId === 'evt-admins');
    expect(formatRecords(records, 'html', 80, CONTEXT)).toBe(recordsToHtml(records, CONTEXT));
  });

  it('titles the page "Audit records" without a context', () => {
    const html = formatRecords(auditTrail(), 'html');
    expect(html).toContain('<title>Audit records</title>');
    expectWellFormed(html);
    expectOnlyOwnMarkup(html);
  });
});
