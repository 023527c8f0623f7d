/**
 * One strict parse of an untrusted queue message body, at the edge.
 *
 * `JSON.parse` alone lets through documents that are valid JSON but hostile to what runs after it:
 *
 * - duplicate keys: JSON.parse silently keeps the last, so the producer, the audit trail and the
 *   engine can disagree on what a field said (`{"UserName":"a","UserName":"b"}`);
 * - `__proto__`, `constructor`, `prototype`: JSON.parse makes them own properties, and zod then
 *   drops `__proto__` silently, getting round the "Unrecognized key" check of a strict object;
 * - deep nesting: a value nested thousands deep parses, then overflows the stack of a recursive
 *   walker later (the AWS SDK serializer, a canonical-JSON hash);
 * - unpaired UTF-16 surrogates (`"\ud800"`): not valid Unicode, so not storable as UTF-8 by
 *   DynamoDB or the Identity Store.
 *
 * `parseStrictJson` refuses all of these, naming the field and the rule. It makes one linear pass
 * over the text with an explicit stack (no recursion, so a body of 200,000 `[` is refused at the
 * 17th), comparing keys after JSON unescaping (`"a"` and `"\u0061"` are the same key), and only
 * then hands the text to `JSON.parse` for the value, so an accepted document's value is exactly
 * what `JSON.parse` gives. The scanner follows the JSON grammar (RFC 8259) exactly as `JSON.parse`
 * does, whitespace and a leading byte-order mark included (JSON.parse refuses a BOM; so does this).
 *
 * No AWS SDK, no dependency beyond Node.
 */
import { Buffer } from 'node:buffer';

export interface JsonLimits {
  /** Largest body, in UTF-8 bytes. */
  maxBytes: number;
  /** Most containers (objects and arrays) open at once: `[]` is 1 deep, `[[]]` 2, a scalar 0. */
  maxDepth: number;
  /** Most values in the document: every object, array, string, number, boolean and null, the root included (keys are not values). */
  maxValues: number;
}

/**
 * - maxBytes 262,144: SQS's long-standing maximum message size (256 KiB, counted in UTF-8 bytes),
 *   the local broker's MaximumMessageSize, and EventBridge's limit for an event. SQS queues can now
 *   be configured for up to 1 MiB; whatever a queue would carry, a body over 256 KiB is refused
 *   here, since no legitimate v1 event comes near it.
 * - maxDepth 16: the deepest legitimate document is a v1 event inside an EventBridge envelope, e.g.
 *   envelope → detail → data → user → Extensions → the enterprise extension → manager → …, about 8
 *   containers. 16 leaves double that and still keeps every later recursive walker far from its
 *   stack limit.
 * - maxValues 10,000: the largest legitimate event (a user with every attribute, 10 ExternalIds,
 *   3 photos, 100 groups and the enterprise extension's handful of attributes) has a few hundred
 *   values. 256 KiB of `[0,0,…]` would have ~131,000;
 *   the cap bounds the allocations JSON.parse and the zod validation make for one message while
 *   staying well over anything a producer can legitimately send.
 */
export const JSON_LIMITS: JsonLimits = Object.freeze({
  maxBytes: 262_144,
  maxDepth: 16,
  maxValues: 10_000,
});

export type StrictJsonResult =
  | { ok: true; value: unknown }
  | { ok: false; field: string; rule: string };

type Refusal = { ok: false; field: string; rule: string };

/** "field: rule", e.g. "data.user.UserName: appears more than once in the same object". */
export function describeJsonRefusal(r: { field: string; rule: string }): string {
  return `${r.field}: ${r.rule}`;
}

export const RULE_NOT_JSON = 'is not valid JSON';
export const RULE_DUPLICATE_KEY = 'appears more than once in the same object';
export const RULE_RESERVED_KEY = 'is a reserved key (__proto__, constructor and prototype are refused)';
export const RULE_UNPAIRED_SURROGATE = 'contains an unpaired surrogate (not valid Unicode)';

const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function parseStrictJson(text: string, limits: JsonLimits = JSON_LIMITS): StrictJsonResult {
  // Every UTF-16 code unit takes at least one UTF-8 byte (a lone surrogate is written as the 3-byte
  // U+FFFD), so a text longer in code units than maxBytes is over without counting.
  if (text.length > limits.maxBytes || Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    return refuse('body', `is larger than ${limits.maxBytes} bytes`);
  }
  const problem = scan(text, limits);
  if (problem === SYNTAX) {
    try {
      JSON.parse(text);
    } catch (error) {
      return notJson(error);
    }
    // The scanner and JSON.parse disagree: refuse (the safe side) rather than trust either.
    return refuse('body', `${RULE_NOT_JSON} (refused by the strict scanner)`);
  }
  if (problem) return problem;
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return notJson(error);
  }
}

function refuse(field: string, rule: string): Refusal {
  return { ok: false, field, rule };
}

function notJson(error: unknown): Refusal {
  return refuse('body', `${RULE_NOT_JSON} (${error instanceof Error ? error.message : String(error)})`);
}

// ---------------------------------------------------------------------------------------------
// The scanner

/** Returned by the scanner for any grammar error; the message then comes from JSON.parse. */
const SYNTAX = Symbol('syntax');

interface Frame {
  isObject: boolean;
  /** Array: index of the current element. */
  index: number;
  /** Object: the current key (unescaped). */
  key: string;
  /** Object: the keys seen so far; created on the first key. */
  keys: Set<string> | undefined;
}

/** Scanner states. */
const VALUE = 0; // a value must come next
const AFTER_VALUE = 1; // a value just ended
const KEY = 2; // an object key must come next (after `{` with a member, or after `,`)

/** What the last scanned string held (reused, so scanning a string allocates nothing). */
const lastString = { hasEscape: false, unpairedSurrogate: false };

function scan(text: string, limits: JsonLimits): Refusal | typeof SYNTAX | undefined {
  const n = text.length;
  const frames: Frame[] = [];
  let values = 0;
  let i = 0;
  let state = VALUE;

  for (;;) {
    // Whitespace, exactly JSON.parse's set: space, tab, line feed, carriage return.
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }

    if (state === VALUE) {
      if (i >= n) return SYNTAX;
      if (++values > limits.maxValues) return refuse('body', `has more than ${limits.maxValues} values`);
      const c = text.charCodeAt(i);
      if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        if (frames.length >= limits.maxDepth) {
          return refuse(pathOf(frames), `is nested more than ${limits.maxDepth} levels deep`);
        }
        const isObject = c === 0x7b;
        frames.push({ isObject, index: 0, key: '', keys: undefined });
        i++;
        while (i < n) {
          const w = text.charCodeAt(i);
          if (w === 0x20 || w === 0x0a || w === 0x0d || w === 0x09) i++;
          else break;
        }
        if (i < n && text.charCodeAt(i) === (isObject ? 0x7d /* } */ : 0x5d /* ] */)) {
          i++;
          frames.pop();
          state = AFTER_VALUE;
        } else {
          state = isObject ? KEY : VALUE;
        }
        continue;
      }
      if (c === 0x22 /* " */) {
        const end = scanString(text, i);
        if (end < 0) return SYNTAX;
        if (lastString.unpairedSurrogate) return refuse(pathOf(frames), RULE_UNPAIRED_SURROGATE);
        i = end;
      } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
        const end = scanNumber(text, i);
        if (end < 0) return SYNTAX;
        i = end;
      } else if (c === 0x74 /* t */ && text.startsWith('true', i)) {
        i += 4;
      } else if (c === 0x66 /* f */ && text.startsWith('false', i)) {
        i += 5;
      } else if (c === 0x6e /* n */ && text.startsWith('null', i)) {
        i += 4;
      } else {
        return SYNTAX;
      }
      state = AFTER_VALUE;
      continue;
    }

    if (state === KEY) {
      if (i >= n || text.charCodeAt(i) !== 0x22) return SYNTAX;
      const start = i;
      const end = scanString(text, i);
      if (end < 0) return SYNTAX;
      // Unescape the way JSON.parse does (the literal is known to be valid), so `"\u0061"` is `a`.
      const key = lastString.hasEscape ? (JSON.parse(text.slice(start, end)) as string) : text.slice(start + 1, end - 1);
      const frame = frames[frames.length - 1];
      frame.key = key;
      if (lastString.unpairedSurrogate) return refuse(pathOf(frames), RULE_UNPAIRED_SURROGATE);
      if (RESERVED_KEYS.has(key)) return refuse(pathOf(frames), RULE_RESERVED_KEY);
      if (frame.keys === undefined) frame.keys = new Set();
      else if (frame.keys.has(key)) return refuse(pathOf(frames), RULE_DUPLICATE_KEY);
      frame.keys.add(key);
      i = end;
      while (i < n) {
        const w = text.charCodeAt(i);
        if (w === 0x20 || w === 0x0a || w === 0x0d || w === 0x09) i++;
        else break;
      }
      if (i >= n || text.charCodeAt(i) !== 0x3a /* : */) return SYNTAX;
      i++;
      state = VALUE;
      continue;
    }

    // AFTER_VALUE
    if (frames.length === 0) return i === n ? undefined : SYNTAX;
    if (i >= n) return SYNTAX;
    const c = text.charCodeAt(i);
    const frame = frames[frames.length - 1];
    if (c === 0x2c /* , */) {
      i++;
      if (frame.isObject) {
        state = KEY;
      } else {
        frame.index++;
        state = VALUE;
      }
    } else if (c === (frame.isObject ? 0x7d : 0x5d)) {
      i++;
      frames.pop();
    } else {
      return SYNTAX;
    }
  }
}

/**
 * Scans the string literal whose opening quote is at `start`; returns the index just past its
 * closing quote, or -1 if it is not a valid JSON string. Sets `lastString`. Surrogates are judged
 * on the decoded code units, whether written raw or as `\u` escapes, exactly as the string
 * JSON.parse returns would be.
 */
function scanString(text: string, start: number): number {
  const n = text.length;
  let i = start + 1;
  let hasEscape = false;
  let pendingHigh = false;
  let unpaired = false;
  for (;;) {
    // Skip a run of ordinary characters in one native step: the common case by far.
    PLAIN_RUN.lastIndex = i;
    PLAIN_RUN.test(text);
    i = PLAIN_RUN.lastIndex;
    if (i >= n) return -1;
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i++;
      break;
    }
    if (c < 0x20) return -1; // raw control characters are not allowed in a JSON string
    let unit = c;
    if (c === 0x5c /* \ */) {
      hasEscape = true;
      if (i + 1 >= n) return -1;
      const e = text.charCodeAt(i + 1);
      if (e === 0x75 /* u */) {
        if (i + 6 > n) return -1;
        unit = 0;
        for (let k = i + 2; k < i + 6; k++) {
          const h = hexValue(text.charCodeAt(k));
          if (h < 0) return -1;
          unit = (unit << 4) | h;
        }
        i += 6;
      } else {
        // \" \\ \/ \b \f \n \r \t: none is a surrogate, so the exact unit does not matter here.
        if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
          return -1;
        }
        unit = e;
        i += 2;
      }
    } else {
      i++;
    }
    if (pendingHigh) {
      pendingHigh = false;
      if (unit >= 0xdc00 && unit <= 0xdfff) continue; // a high surrogate followed by a low one: a pair
      unpaired = true;
    }
    if (unit >= 0xd800 && unit <= 0xdbff) pendingHigh = true;
    else if (unit >= 0xdc00 && unit <= 0xdfff) unpaired = true;
  }
  lastString.hasEscape = hasEscape;
  lastString.unpairedSurrogate = unpaired || pendingHigh;
  return i;
}

/**
 * Characters that need no attention inside a string: not a quote, a backslash, a control character
 * or a surrogate (no `u` flag, so the class matches UTF-16 code units). Sticky, so it only matches
 * at lastIndex; `*`, so it always matches (possibly empty).
 */
const PLAIN_RUN = /[^"\\\x00-\x1f\ud800-\udfff]*/y;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` from `start`; the index past it, or -1. */
function scanNumber(text: string, start: number): number {
  const n = text.length;
  let i = start;
  if (text.charCodeAt(i) === 0x2d) i++;
  if (i >= n) return -1;
  let c = text.charCodeAt(i);
  if (c === 0x30) {
    i++;
  } else if (c >= 0x31 && c <= 0x39) {
    i = skipDigits(text, i + 1);
  } else {
    return -1;
  }
  if (i < n && text.charCodeAt(i) === 0x2e /* . */) {
    const digits = i + 1;
    i = skipDigits(text, digits);
    if (i === digits) return -1;
  }
  if (i < n) {
    c = text.charCodeAt(i);
    if (c === 0x65 || c === 0x45 /* e E */) {
      i++;
      if (i < n) {
        c = text.charCodeAt(i);
        if (c === 0x2b || c === 0x2d) i++;
      }
      const digits = i;
      i = skipDigits(text, digits);
      if (i === digits) return -1;
    }
  }
  // A digit straight after a leading 0 ("01") is left for the caller, which then finds a digit
  // where a `,`, a closing bracket or the end must be: a syntax error, as for JSON.parse.
  return i;
}

function skipDigits(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  return i;
}

// ---------------------------------------------------------------------------------------------
// Paths: `data.user.Emails[0].Value`; the root is `body`.

/** A key shown bare: printable ASCII other than space, `.`, `[`, `]`, `"` and `\`, at most 64. */
const BARE_KEY = /^[\x21\x23-\x2d\x2f-\x5a\x5e-\x7e]{1,64}$/;
const SHOWN_KEY_LENGTH = 64;

/** The path of the value the innermost frame is at (its current index or key). */
function pathOf(frames: readonly Frame[]): string {
  let path = '';
  for (const frame of frames) {
    if (!frame.isObject) {
      path += `[${frame.index}]`;
    } else if (BARE_KEY.test(frame.key)) {
      path += path === '' ? frame.key : `.${frame.key}`;
    } else {
      // Any other key is shown as a JSON string in brackets: an empty key, a dot, spaces, control
      // characters and lone surrogates stay visible and cannot break the message's line. A long
      // key is cut, marked by … after the quotes.
      const long = frame.key.length > SHOWN_KEY_LENGTH;
      path += `[${JSON.stringify(long ? frame.key.slice(0, SHOWN_KEY_LENGTH) : frame.key)}${long ? '…' : ''}]`;
    }
  }
  return path === '' ? 'body' : path;
}
