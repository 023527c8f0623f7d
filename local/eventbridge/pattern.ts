/**
 * The common subset of EventBridge event patterns:
 * - a pattern is an object; nested objects descend into the event (e.g. `detail`);
 * - a leaf is a non-empty array whose elements are alternatives (OR);
 * - an element is an exact value (string, number, boolean, null) or one of
 *   `{ prefix }`, `{ suffix }`, `{ 'equals-ignore-case' }`, `{ 'anything-but' }`
 *   (value, list, or `{ prefix }`), `{ exists }`, `{ numeric: [op, n, ...] }`;
 * - when the event value is an array, the leaf matches if any element does.
 * A field absent from the event matches only `{ exists: false }`, as in EventBridge.
 */
export type EventPattern = { [field: string]: EventPattern | PatternValue[] };
export type PatternValue = string | number | boolean | null | PatternOperator;
export type PatternOperator =
  | { prefix: string }
  | { suffix: string }
  | { 'equals-ignore-case': string }
  | { 'anything-but': string | number | Array<string | number> | { prefix: string } }
  | { exists: boolean }
  | { numeric: Array<string | number> };

export class InvalidEventPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventPatternError';
  }
}

const NUMERIC_OPERATORS = new Set(['<', '<=', '=', '>', '>=']);

/** Refuse what EventBridge would refuse (or this subset does not implement), at rule creation. */
export function validateEventPattern(pattern: unknown, path = ''): asserts pattern is EventPattern {
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) {
    throw new InvalidEventPatternError(`Event pattern${path ? ` at ${path}` : ''} must be an object`);
  }
  for (const [field, value] of Object.entries(pattern)) {
    const fieldPath = path ? `${path}.${field}` : field;
    if (Array.isArray(value)) {
      if (value.length === 0) throw new InvalidEventPatternError(`Empty arrays are not allowed (${fieldPath})`);
      value.forEach((element) => validateElement(element, fieldPath));
    } else {
      validateEventPattern(value, fieldPath);
    }
  }
}

function validateElement(element: unknown, path: string): void {
  if (element === null || ['string', 'number', 'boolean'].includes(typeof element)) return;
  if (typeof element !== 'object' || Array.isArray(element)) {
    throw new InvalidEventPatternError(`Unsupported pattern value at ${path}`);
  }
  const keys = Object.keys(element);
  const operator = keys[0];
  const operand = (element as Record<string, unknown>)[operator];
  if (keys.length !== 1) throw new InvalidEventPatternError(`One operator per element at ${path}`);
  const ok = (() => {
    switch (operator) {
      case 'prefix':
      case 'suffix':
      case 'equals-ignore-case':
        return typeof operand === 'string';
      case 'exists':
        return typeof operand === 'boolean';
      case 'anything-but':
        return (
          typeof operand === 'string' ||
          typeof operand === 'number' ||
          (Array.isArray(operand) && operand.length > 0 && operand.every((v) => typeof v === 'string' || typeof v === 'number')) ||
          (typeof operand === 'object' && operand !== null && typeof (operand as { prefix?: unknown }).prefix === 'string')
        );
      case 'numeric':
        return (
          Array.isArray(operand) &&
          operand.length % 2 === 0 &&
          operand.length > 0 &&
          operand.every((v, i) => (i % 2 === 0 ? NUMERIC_OPERATORS.has(String(v)) : typeof v === 'number'))
        );
      default:
        return false;
    }
  })();
  if (!ok) throw new InvalidEventPatternError(`Unsupported or malformed operator "${operator}" at ${path}`);
}

export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  const object = typeof event === 'object' && event !== null && !Array.isArray(event) ? (event as Record<string, unknown>) : {};
  return Object.entries(pattern).every(([field, subPattern]) => {
    const present = Object.prototype.hasOwnProperty.call(object, field);
    const value = object[field];
    if (!Array.isArray(subPattern)) return present && matchesEventPattern(subPattern, value);
    return subPattern.some((element) => matchesLeaf(element, present, value));
  });
}

function matchesLeaf(element: PatternValue, present: boolean, value: unknown): boolean {
  if (isOperator(element) && 'exists' in element) {
    // exists matches leaf values only: objects are not "existing" leaves in EventBridge.
    const isLeaf = present && (typeof value !== 'object' || value === null || Array.isArray(value));
    return element.exists === isLeaf;
  }
  if (!present) return false;
  const candidates = Array.isArray(value) ? value : [value];
  if (isOperator(element) && 'anything-but' in element) {
    // Every element of an array value must avoid the excluded values.
    return candidates.length > 0 && candidates.every((candidate) => matchesAnythingBut(element['anything-but'], candidate));
  }
  return candidates.some((candidate) => matchesScalar(element, candidate));
}

function matchesScalar(element: PatternValue, value: unknown): boolean {
  if (!isOperator(element)) return element === value;
  if ('prefix' in element) return typeof value === 'string' && value.startsWith(element.prefix);
  if ('suffix' in element) return typeof value === 'string' && value.endsWith(element.suffix);
  if ('equals-ignore-case' in element) {
    return typeof value === 'string' && value.toLowerCase() === element['equals-ignore-case'].toLowerCase();
  }
  if ('numeric' in element) {
    if (typeof value !== 'number') return false;
    const terms = element.numeric;
    for (let i = 0; i < terms.length; i += 2) {
      const bound = Number(terms[i + 1]);
      const holds = { '<': value < bound, '<=': value <= bound, '=': value === bound, '>': value > bound, '>=': value >= bound }[
        String(terms[i]) as '<' | '<=' | '=' | '>' | '>='
      ];
      if (!holds) return false;
    }
    return true;
  }
  return false;
}

function matchesAnythingBut(excluded: string | number | Array<string | number> | { prefix: string }, value: unknown): boolean {
  if (typeof value === 'object' && value !== null) return false;
  if (Array.isArray(excluded)) return !excluded.includes(value as string | number);
  if (typeof excluded === 'object') return !(typeof value === 'string' && value.startsWith(excluded.prefix));
  return value !== excluded;
}

function isOperator(element: PatternValue): element is PatternOperator {
  return typeof element === 'object' && element !== null;
}
