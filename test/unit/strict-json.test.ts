import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  describeJsonRefusal,
  JSON_LIMITS,
  parseStrictJson,
  type JsonLimits,
  type StrictJsonResult,
} from '../../lambdas/domain/strict-json';

const DUPLICATE = 'appears more than once in the same object';
const RESERVED = 'is a reserved key (__proto__, constructor and prototype are refused)';
const SURROGATE = 'contains an unpaired surrogate (not valid Unicode)';
const TOO_DEEP = 'is nested more than 16 levels deep';

/** Each adversarial body below is one plain JSON.parse accepts: that is the point of the test. */
function plainParseAccepts(text: string): void {
  expect(() => JSON.parse(text)).not.toThrow();
}

function refusal(result: StrictJsonResult): { field: string; rule: string } {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return { field: result.field, rule: result.rule };
}

function expectRefused(text: string, field: string, rule: string, limits?: JsonLimits): void {
  expect(refusal(parseStrictJson(text, limits))).toEqual({ field, rule });
}

function expectSameAsJsonParse(text: string): void {
  const result = parseStrictJson(text);
  expect(result).toStrictEqual({ ok: true, value: JSON.parse(text) });
}

function jsonParseMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`JSON.parse accepted ${text}`);
}

describe('parseStrictJson: duplicate keys', () => {
  it('refuses a key repeated at the root, naming it', () => {
    const body = '{"id":"a","type":"user.upserted","id":"b"}';
    plainParseAccepts(body);
    expectRefused(body, 'id', DUPLICATE);
  });

  it('refuses a key repeated deep inside, naming the full path', () => {
    const body = '{"data":{"user":{"Emails":[{"Value":"a@example.com","Type":"work","Value":"b@example.com"}]}}}';
    plainParseAccepts(body);
    expectRefused(body, 'data.user.Emails[0].Value', DUPLICATE);
  });

  it('names the path inside an EventBridge envelope from the document root', () => {
    const body = '{"detail-type":"x","detail":{"data":{"user":{"UserName":"ada","UserName":"mallory"}}}}';
    plainParseAccepts(body);
    expectRefused(body, 'detail.data.user.UserName', DUPLICATE);
  });

  it('compares keys after unescaping: a key spelled with escapes is the same key', () => {
    for (const [body, field] of [
      ['{"a":1,"\\u0061":2}', 'a'],
      ['{"\\u0055serName":"ada","UserName":"mallory"}', 'UserName'],
      ['{"data":{"\\u0064\\u0061\\u0074\\u0061":1,"data":2}}', 'data.data'],
      ['{"a/b":1,"a\\/b":2}', 'a/b'],
      ['{"\\u00e9":1,"é":2}', '["é"]'],
      ['{"\\uD83D\\uDE00":1,"😀":2}', '["😀"]'],
    ] as const) {
      plainParseAccepts(body);
      expectRefused(body, field, DUPLICATE);
    }
  });

  it('keeps key sets per object: the same key in sibling and nested objects is fine', () => {
    expectSameAsJsonParse('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}],"c":{"a":3}}');
  });
});

describe('parseStrictJson: reserved keys', () => {
  it('refuses __proto__, raw and spelled with an escape', () => {
    for (const body of ['{"__proto__":{"isAdmin":true}}', '{"\\u005f_proto__":{"isAdmin":true}}', '{"__proto\\u005F_":1}']) {
      plainParseAccepts(body);
      expectRefused(body, '__proto__', RESERVED);
    }
  });

  it('refuses __proto__ nested where zod would have dropped it silently', () => {
    const body = '{"type":"user.upserted","data":{"user":{"UserName":"ada","__proto__":{"x":1}}}}';
    plainParseAccepts(body);
    expectRefused(body, 'data.user.__proto__', RESERVED);
  });

  it('refuses constructor and prototype at any depth, inside arrays too', () => {
    for (const [body, field] of [
      ['[[{"constructor":{"prototype":1}}]]', '[0][0].constructor'],
      ['{"a":[1,{"b":{"prototype":{}}}]}', 'a[1].b.prototype'],
      ['{"data":{"groups":[{},{"\\u0063onstructor":1}]}}', 'data.groups[1].constructor'],
    ] as const) {
      plainParseAccepts(body);
      expectRefused(body, field, RESERVED);
    }
  });

  it('allows them as string values and as parts of longer keys', () => {
    expectSameAsJsonParse('{"name":"__proto__","constructors":1,"prototype_":2,"x":["constructor"]}');
  });
});

describe('parseStrictJson: depth', () => {
  const arrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const objects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

  it('accepts exactly 16 levels and refuses 17, at the path where it happens', () => {
    expectSameAsJsonParse(arrays(16));
    expectSameAsJsonParse(objects(16));
    plainParseAccepts(arrays(17));
    plainParseAccepts(objects(17));
    expectRefused(arrays(17), '[0]'.repeat(16), TOO_DEEP);
    expectRefused(objects(17), Array(16).fill('a').join('.'), TOO_DEEP);
  });

  it('counts containers, not scalars: a scalar inside 16 arrays is fine', () => {
    expectSameAsJsonParse('['.repeat(16) + '"x"' + ']'.repeat(16));
  });

  it('refuses 200,000 [ (under the size limit) at the 17th, without throwing', () => {
    const body = '['.repeat(200_000);
    expect(Buffer.byteLength(body)).toBeLessThan(JSON_LIMITS.maxBytes);
    let result: StrictJsonResult | undefined;
    expect(() => {
      result = parseStrictJson(body);
    }).not.toThrow();
    expect(refusal(result!)).toEqual({ field: '[0]'.repeat(16), rule: TOO_DEEP });
  });

  it('refuses 200,000-deep arrays and objects without throwing, with the size limit out of the way', () => {
    // Most of these are over 256 KiB, so by default the size check refuses them first; lift it to
    // reach the scanner.
    const noSizeLimit = { ...JSON_LIMITS, maxBytes: 10_000_000 };
    const bodies = ['['.repeat(200_000), arrays(200_000), '{"a":'.repeat(200_000), objects(200_000), '[{"a":'.repeat(200_000)];
    for (const body of bodies) {
      let result: StrictJsonResult | undefined;
      expect(() => {
        result = parseStrictJson(body, noSizeLimit);
      }).not.toThrow();
      expect(refusal(result!).rule).toBe(TOO_DEEP);
      expect(() => parseStrictJson(body)).not.toThrow();
    }
    expect(refusal(parseStrictJson('[{"a":'.repeat(200_000), noSizeLimit)).field).toBe('[0].a'.repeat(8));
    expect(refusal(parseStrictJson(objects(200_000)))).toEqual({ field: 'body', rule: 'is larger than 262144 bytes' });
  });

  it('uses the limit it is given', () => {
    const limits = { ...JSON_LIMITS, maxDepth: 2 };
    expect(parseStrictJson('[[1]]', limits).ok).toBe(true);
    expectRefused('{"a":[{"b":1}]}', 'a[0]', 'is nested more than 2 levels deep', limits);
    expectRefused('[]', 'body', 'is nested more than 0 levels deep', { ...JSON_LIMITS, maxDepth: 0 });
    expect(parseStrictJson('"scalar"', { ...JSON_LIMITS, maxDepth: 0 }).ok).toBe(true);
  });
});

describe('parseStrictJson: unpaired surrogates', () => {
  it('refuses a lone high or low surrogate written as an escape, in a value', () => {
    for (const value of ['\\ud800', '\\uDBFF', '\\udc00', '\\uDFFF', 'x\\ud800y', '\\ud800\\ud800', '\\udc00\\ud800', 'ok\\ud83d']) {
      const body = `{"data":{"user":{"DisplayName":"${value}"}}}`;
      plainParseAccepts(body);
      expectRefused(body, 'data.user.DisplayName', SURROGATE);
    }
  });

  it('refuses a lone surrogate in a key, and in an array element', () => {
    plainParseAccepts('{"a\\ud800":1}');
    expectRefused('{"a\\ud800":1}', '["a\\ud800"]', SURROGATE);
    plainParseAccepts('["ok",["\\udfff"]]');
    expectRefused('["ok",["\\udfff"]]', '[1][0]', SURROGATE);
  });

  it('refuses a raw lone surrogate in the text as well', () => {
    const body = '{"a":"x\ud800"}';
    plainParseAccepts(body);
    expectRefused(body, 'a', SURROGATE);
    expectRefused('"\udc00"', 'body', SURROGATE);
  });

  it('accepts astral characters, as an escaped pair, raw, or mixed', () => {
    expectSameAsJsonParse('{"a":"\\ud83d\\ude00","b":"😀","c":"\\uD834\\uDD1E𝄞","😀":"\\ud83d\ude00"}');
    expect(parseStrictJson('"\\ud83d\\ude00"')).toEqual({ ok: true, value: '😀' });
  });
});

describe('parseStrictJson: size and value count', () => {
  it('counts the limit in UTF-8 bytes, not UTF-16 code units', () => {
    // 88,000 CJK characters: 88,002 code units (well under 262,144) but 264,002 UTF-8 bytes.
    const over = `"${'中'.repeat(88_000)}"`;
    expect(over.length).toBeLessThan(JSON_LIMITS.maxBytes);
    expect(Buffer.byteLength(over, 'utf8')).toBeGreaterThan(JSON_LIMITS.maxBytes);
    plainParseAccepts(over);
    expectRefused(over, 'body', 'is larger than 262144 bytes');
    // 87,000 of them: 261,002 bytes, under.
    expectSameAsJsonParse(`"${'中'.repeat(87_000)}"`);
  });

  it('accepts a body of exactly maxBytes and refuses one byte more', () => {
    const exactly = `"${'x'.repeat(JSON_LIMITS.maxBytes - 2)}"`;
    expect(parseStrictJson(exactly).ok).toBe(true);
    expectRefused(`${exactly} `, 'body', 'is larger than 262144 bytes');
    expectRefused(`"${'é'.repeat(3)}"`, 'body', 'is larger than 7 bytes', { ...JSON_LIMITS, maxBytes: 7 });
    expect(parseStrictJson(`"${'é'.repeat(3)}"`, { ...JSON_LIMITS, maxBytes: 8 }).ok).toBe(true);
  });

  it('refuses more than maxValues values (every scalar and container counts, the root included)', () => {
    const withValues = (count: number) => `[${Array(count - 1).fill('0').join(',')}]`;
    expect(parseStrictJson(withValues(10_000)).ok).toBe(true);
    plainParseAccepts(withValues(10_001));
    expectRefused(withValues(10_001), 'body', 'has more than 10000 values');
    const limits = { ...JSON_LIMITS, maxValues: 4 };
    expect(parseStrictJson('{"a":[1,{}]}', limits).ok).toBe(true);
    expectRefused('{"a":[1,{}],"b":null}', 'body', 'has more than 4 values', limits);
  });
});

describe('parseStrictJson: whatever JSON.parse refuses, it refuses with JSON.parse\'s message', () => {
  const invalid = [
    '', ' ', '{', '}', '[', '[1,]', '{"a":1,}', '{,}', '[,1]', '{"a" 1}', '{"a":}', '{a:1}', "{'a':1}", '[1 2]', '1 2', '{}{}',
    '01', '-01', '1.', '.5', '+1', '-', '1e', '1e+', '1.e3', '0x10', 'NaN', 'Infinity', '-Infinity',
    'tru', 'nul', 'True', 'undefined', '"abc', '"\\x"', '"\\u12"', '"\\u12g4"', '"\\', '"a\u0001"', '"line\nbreak"',
    '\uFEFF{}', '{}\uFEFF', '\u00a0{}', '\u2028[]', '\v1', '\f1', '// c\n1', '[1]/**/',
  ];

  it.each(invalid)('%j', (text) => {
    expect(parseStrictJson(text)).toEqual({ ok: false, field: 'body', rule: `is not valid JSON (${jsonParseMessage(text)})` });
  });

  it('keeps the phrase other tests look for', () => {
    expect(describeJsonRefusal(refusal(parseStrictJson('{')))).toMatch(/^body: is not valid JSON \(/);
  });

  it('refuses a leading byte-order mark, as JSON.parse does', () => {
    expect(() => JSON.parse('\uFEFF{"a":1}')).toThrow(SyntaxError);
    expect(refusal(parseStrictJson('\uFEFF{"a":1}')).rule).toMatch(/^is not valid JSON/);
  });
});

describe('parseStrictJson: valid documents come back exactly as JSON.parse gives them', () => {
  const documents = [
    'null', 'true', 'false', '0', '-0', '"x"', '""', '{}', '[]', ' \t\n\r{ \t\n\r} \t\n\r', '[ ]', '{ }',
    '[0,-0,1,-1,0.5,-0.0,1e3,1E3,1e+3,1e-3,-1.5E+10,123456789012345678901234567890,1e400,-1e400,5e-324,2e-400,0.1e1]',
    '"\\b\\f\\n\\r\\t\\"\\\\\\/\\u0000\\u001f\\u00e9\\u20AC\\uFFFF\\uFFFE\\u2028"',
    '{"":"","a":{},"b":[],"c":[[],[{}],{"d":[[[]]]}],"e":[{},{}]}',
    '{"text":"tab\\there","quote":"\\"q\\"","unicode":"日本語","emoji":"🎉","nul":"\\u0000","del":"\u007f"}',
    '{"toString":1,"hasOwnProperty":2,"valueOf":{"x":[true,false,null]},"__proto":3,"proto__":4}',
    '[{"a":1,"b":{"c":[1,2,{"d":"e"}]}},[null],[[1],[2,[3]]]]',
    '\n  {\n    "spaced" : [ 1 , 2 ] ,\n    "x" : { "y" : null }\n  }\n',
  ];

  it.each(documents)('%s', (text) => {
    expectSameAsJsonParse(text);
  });

  it('passes every body of the EventBridge fixture (a v1 event in an envelope)', () => {
    const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/sqs-event-eventbridge-joiners.json'), 'utf8')) as {
      Records: { body: string }[];
    };
    expect(fixture.Records.length).toBeGreaterThan(0);
    for (const record of fixture.Records) expectSameAsJsonParse(record.body);
  });

  it('passes every event of the onboarding example, bare and in an envelope', () => {
    const lines = readFileSync(join(__dirname, '../../examples/onboarding.jsonl'), 'utf8').split('\n').filter((line) => line.trim());
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const { event } = JSON.parse(line) as { event: unknown };
      expectSameAsJsonParse(JSON.stringify(event));
      expectSameAsJsonParse(JSON.stringify({ version: '0', 'detail-type': 'x', source: 'y', resources: [], detail: event }));
    }
  });
});

describe('parseStrictJson: agrees with JSON.parse on generated and mutated documents', () => {
  // A small deterministic PRNG (mulberry32), so a failure reproduces.
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const ALPHABET = ['a', 'b', 'é', '中', '😀', '"', '\\', '/', '\n', '\u0000', '\u2028', ' ', 'Z'];

  function randomValue(random: () => number, depth: number): unknown {
    const pick = random();
    if (depth < 5 && pick < 0.2) {
      const out: Record<string, unknown> = {};
      const size = Math.floor(random() * 5);
      for (let k = 0; k < size; k++) out[randomString(random) + k] = randomValue(random, depth + 1);
      return out;
    }
    if (depth < 5 && pick < 0.4) return Array.from({ length: Math.floor(random() * 5) }, () => randomValue(random, depth + 1));
    if (pick < 0.55) return randomString(random);
    if (pick < 0.7) return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
    if (pick < 0.8) return Math.floor((random() - 0.5) * 1e6);
    return [true, false, null][Math.floor(random() * 3)];
  }
  function randomString(random: () => number): string {
    return Array.from({ length: Math.floor(random() * 6) }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join('');
  }
  /** Respells some letters inside string literals as \u escapes, so keys and strings vary in spelling. */
  function respell(text: string, random: () => number): string {
    return text.replace(/"(?:[^"\\]|\\.)*"/g, (literal) =>
      literal.replace(/\\u[0-9a-fA-F]{4}|\\.|[a-zA-Z]/g, (token) =>
        token.length === 1 && random() < 0.2 ? `\\u${token.charCodeAt(0).toString(16).padStart(4, '0')}` : token,
      ),
    );
  }

  it('generated valid documents round-trip exactly', () => {
    const random = prng(20260102);
    for (let n = 0; n < 500; n++) {
      const value = randomValue(random, 0);
      const text = JSON.stringify(value, null, random() < 0.5 ? undefined : 2);
      expectSameAsJsonParse(respell(text, random));
    }
  });

  it('generated strings with \\u escapes of every ASCII character decode exactly', () => {
    const random = prng(7);
    for (let n = 0; n < 200; n++) {
      let text = '"';
      for (let k = 0; k < 20; k++) {
        const code = Math.floor(random() * 0x80);
        text += `\\u${code.toString(16).padStart(4, '0')}`;
      }
      text += '"';
      expectSameAsJsonParse(text);
    }
  });

  it('mutated documents: it never accepts what JSON.parse refuses, and never calls valid JSON invalid', () => {
    const random = prng(42);
    const seeds = [
      '{"a":[1,-2.5e3,"x\\u0041",true,null,{"b":{}}],"c":"\\n"}',
      '[{"k":0},{"k":1e-7},[],"\\ud83d\\ude00"]',
      '{"detail":{"data":{"user":{"Emails":[{"Value":"v","Primary":false}]}}}}',
    ];
    const pieces = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '-', '.', 'e', 'E', '+', ' ', '\n', 'a', 't', 'n', 'f', '\uFEFF', '\ud800'];
    let accepted = 0;
    for (let n = 0; n < 5_000; n++) {
      let text = seeds[n % seeds.length];
      for (let m = 0; m < 1 + Math.floor(random() * 3); m++) {
        const at = Math.floor(random() * (text.length + 1));
        const op = random();
        const piece = pieces[Math.floor(random() * pieces.length)];
        text = op < 0.4 ? text.slice(0, at) + piece + text.slice(at) : op < 0.7 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + piece + text.slice(at + 1);
      }
      let plain: { ok: true; value: unknown } | { ok: false; message: string };
      try {
        plain = { ok: true, value: JSON.parse(text) };
      } catch (error) {
        plain = { ok: false, message: (error as Error).message };
      }
      const strict = parseStrictJson(text);
      if (strict.ok) {
        accepted++;
        expect(plain).toStrictEqual({ ok: true, value: strict.value });
      } else if (strict.rule.startsWith('is not valid JSON')) {
        expect(plain.ok).toBe(false);
        if (!plain.ok) expect(strict.rule).toBe(`is not valid JSON (${plain.message})`);
      } else {
        // Refused by a strict rule found before any syntax error (the text may be invalid further on).
        expect([DUPLICATE, RESERVED, SURROGATE]).toContain(strict.rule);
      }
    }
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('describeJsonRefusal', () => {
  it('is "field: rule"', () => {
    expect(describeJsonRefusal({ field: 'data.user.Emails[0].Value', rule: DUPLICATE })).toBe(
      'data.user.Emails[0].Value: appears more than once in the same object',
    );
    expect(describeJsonRefusal(refusal(parseStrictJson('{"a":{"a":1,"a":2}}')))).toBe('a.a: appears more than once in the same object');
  });

  it('shows odd keys as JSON strings in brackets, so the message stays on one line and unambiguous', () => {
    expectRefused('{"a.b":{"x":1,"x":2}}', '["a.b"].x', DUPLICATE);
    expectRefused('{"":{"x":1,"x":2}}', '[""].x', DUPLICATE);
    expectRefused('{"line\\nbreak":1,"line\\nbreak":2}', '["line\\nbreak"]', DUPLICATE);
    expectRefused('{"aws:identitystore:enterprise":{"x":1,"x":2}}', 'aws:identitystore:enterprise.x', DUPLICATE);
    const long = 'k'.repeat(1000);
    expectRefused(`{"${long}":1,"${long}":2}`, `["${'k'.repeat(64)}"…]`, DUPLICATE);
  });
});
