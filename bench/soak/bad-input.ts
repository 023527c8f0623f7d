/**
 * The bad-input corpus (test/fixtures/bad-input/corpus.json): messages the consumer must reject,
 * each with the error code and the field and rule its rejection reason must name. The corpus
 * test sends them all; the soak sprinkles them into its workload.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ExpectedRejection {
  code: string;
  /** The field path the reason must name (e.g. `data.user.UserName`, `detail-type`, `body`). */
  field: string;
  /** A fragment of the rule the reason must state. */
  rule: string;
}

export interface BadInputCase {
  name: string;
  /** A JSON document, sent serialized... */
  body?: unknown;
  /** ...or a raw message body that is not JSON. */
  raw?: string;
  expect: ExpectedRejection;
}

export const BAD_INPUT_CORPUS_PATH = join(__dirname, '../../test/fixtures/bad-input/corpus.json');

export function loadBadInputCorpus(path = BAD_INPUT_CORPUS_PATH): BadInputCase[] {
  const { cases } = JSON.parse(readFileSync(path, 'utf8')) as { cases: BadInputCase[] };
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`bad-input corpus: duplicate case name ${c.name}`);
    names.add(c.name);
    if ((c.body === undefined) === (c.raw === undefined)) throw new Error(`bad-input corpus: case ${c.name} needs exactly one of body and raw`);
  }
  return cases;
}

/**
 * The message body of a case. With `id`, a readable event id (top level, or in an EventBridge
 * detail) is replaced so each copy sprinkled into a workload is its own event.
 */
export function badInputBody(badCase: BadInputCase, id?: string): string {
  if (badCase.raw !== undefined) return badCase.raw;
  const document = structuredClone(badCase.body);
  if (id !== undefined && isObject(document)) {
    const target = isObject(document.detail) ? document.detail : document;
    if (typeof target.id === 'string' && target.id.length <= 128) target.id = id;
  }
  return JSON.stringify(document);
}

/** Whether a rejection reason names the case's field and rule. */
export function reasonNames(reason: string, expected: ExpectedRejection): boolean {
  return reason.includes(`${expected.field}:`) && reason.includes(expected.rule);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
