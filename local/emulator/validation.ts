/**
 * A small shape checker in the service's own terms: each rule failure names the member path
 * (camelCase, list items as `emails.1.member`) and the constraint, like the real
 * "Value at 'name.familyName' failed to satisfy constraint: ..." messages.
 */
import { type ConstraintViolation, validationError } from './errors';

export type Shape =
  | { type: 'string'; min?: number; max?: number; pattern?: RegExp; enum?: readonly string[] }
  | { type: 'integer'; min?: number; max?: number }
  | { type: 'boolean' }
  | { type: 'document' }
  | { type: 'object' }
  | { type: 'list'; member: Shape; min?: number; max?: number }
  | { type: 'map'; key: Shape; value: Shape; min?: number; max?: number }
  | { type: 'structure'; members: Record<string, Shape>; required?: readonly string[]; union?: boolean };

/** `UserName` -> `userName`, as the service names members in messages. */
export const memberPath = (parent: string, member: string): string => {
  const camel = member.charAt(0).toLowerCase() + member.slice(1);
  return parent ? `${parent}.${camel}` : camel;
};

/** The pattern as the service prints it: without anchors. */
const patternText = (pattern: RegExp) => pattern.source.replace(/^\^/, '').replace(/\$$/, '');

export function checkShape(shape: Shape, value: unknown, path: string, out: ConstraintViolation[]): void {
  switch (shape.type) {
    case 'string':
      return checkString(shape, value, path, out);
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        out.push({ path, rule: 'Member must be an integer' });
        return;
      }
      if (shape.min !== undefined && value < shape.min)
        out.push({ path, rule: `Member must have value greater than or equal to ${shape.min}` });
      if (shape.max !== undefined && value > shape.max)
        out.push({ path, rule: `Member must have value less than or equal to ${shape.max}` });
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push({ path, rule: 'Member must be a boolean' });
      return;
    case 'document':
      return;
    case 'object':
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        out.push({ path, rule: 'Member must be a JSON object' });
      return;
    case 'list':
      return checkList(shape, value, path, out);
    case 'map':
      return checkMap(shape, value, path, out);
    case 'structure':
      return checkStructure(shape, value, path, out);
  }
}

function checkString(shape: Extract<Shape, { type: 'string' }>, value: unknown, path: string, out: ConstraintViolation[]) {
  if (typeof value !== 'string') {
    out.push({ path, rule: 'Member must be a string' });
    return;
  }
  const length = [...value].length;
  if (shape.min !== undefined && length < shape.min)
    out.push({ path, rule: `Member must have length greater than or equal to ${shape.min}` });
  if (shape.max !== undefined && length > shape.max)
    out.push({ path, rule: `Member must have length less than or equal to ${shape.max}` });
  if (shape.pattern && length > 0 && !shape.pattern.test(value))
    out.push({ path, rule: `Member must satisfy regular expression pattern: ${patternText(shape.pattern)}` });
  if (shape.enum && !shape.enum.includes(value))
    out.push({ path, rule: `Member must satisfy enum value set: [${shape.enum.join(', ')}]` });
}

function checkList(shape: Extract<Shape, { type: 'list' }>, value: unknown, path: string, out: ConstraintViolation[]) {
  if (!Array.isArray(value)) {
    out.push({ path, rule: 'Member must be a list' });
    return;
  }
  if (shape.min !== undefined && value.length < shape.min)
    out.push({ path, rule: `Member must have length greater than or equal to ${shape.min}` });
  if (shape.max !== undefined && value.length > shape.max)
    out.push({ path, rule: `Member must have length less than or equal to ${shape.max}` });
  value.forEach((item, index) => {
    const itemPath = `${path}.${index + 1}.member`;
    if (item === null || item === undefined) out.push({ path: itemPath, rule: 'Member must not be null' });
    else checkShape(shape.member, item, itemPath, out);
  });
}

function checkMap(shape: Extract<Shape, { type: 'map' }>, value: unknown, path: string, out: ConstraintViolation[]) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    out.push({ path, rule: 'Member must be a map' });
    return;
  }
  const entries = Object.entries(value);
  if (shape.min !== undefined && entries.length < shape.min)
    out.push({ path, rule: `Member must have length greater than or equal to ${shape.min}` });
  if (shape.max !== undefined && entries.length > shape.max)
    out.push({ path, rule: `Member must have length less than or equal to ${shape.max}` });
  for (const [key, item] of entries) {
    checkShape(shape.key, key, `${path}.${key}.key`, out);
    if (item === null || item === undefined) out.push({ path: `${path}.${key}.value`, rule: 'Member must not be null' });
    else checkShape(shape.value, item, `${path}.${key}.value`, out);
  }
}

function checkStructure(
  shape: Extract<Shape, { type: 'structure' }>,
  value: unknown,
  path: string,
  out: ConstraintViolation[],
) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    out.push({ path: path || 'request', rule: 'Member must be a structure' });
    return;
  }
  const record = value as Record<string, unknown>;
  for (const name of shape.required ?? []) {
    if (record[name] === undefined || record[name] === null)
      out.push({ path: memberPath(path, name), rule: 'Member must not be null' });
  }
  const present = Object.keys(shape.members).filter((name) => record[name] !== undefined && record[name] !== null);
  if (shape.union && present.length !== 1)
    out.push({ path: path || 'request', rule: `Member must have exactly one of [${Object.keys(shape.members).join(', ')}] set` });
  for (const name of present) checkShape(shape.members[name], record[name], memberPath(path, name), out);
}

/** Check a whole request; throws the service's ValidationException listing every violation. */
export function assertShape(shape: Shape, value: unknown): void {
  const violations: ConstraintViolation[] = [];
  checkShape(shape, value, '', violations);
  if (violations.length > 0) throw validationError(violations);
}
