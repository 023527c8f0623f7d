/**
 * UpdateUser / UpdateGroup operations: a camelCase AttributePath (`displayName`,
 * `name.givenName`, `emails`, `aws:identitystore:enterprise.costCenter`) and a value;
 * an absent or null value removes the attribute. All operations apply, or none.
 */
import { type ConstraintViolation, validationError } from './errors';
import {
  ENTERPRISE_EXTENSION,
  SUPPORTED_EXTENSIONS,
  groupAttributeShapes,
  userAttributeShapes,
  userUpdateOnlyShapes,
} from './shapes';
import { checkShape, memberPath, type Shape } from './validation';

export interface AttributeOperation {
  AttributePath: string;
  AttributeValue?: unknown;
}

/** Where a path lands in the wire-shaped record, and the shape its value must have. */
interface PathTarget {
  keys: string[];
  shape: Shape;
}

type PathResolver = (path: string) => PathTarget | string;

const DOCUMENT: Shape = { type: 'document' };

/** The wire member a camelCase segment names, among `shapes`. */
const memberNamed = (shapes: Record<string, Shape>, segment: string) =>
  Object.keys(shapes).find((name) => memberPath('', name) === segment);

function resolveAmong(shapes: Record<string, Shape>, path: string): PathTarget | string {
  const [head, sub, ...rest] = path.split('.');
  const member = memberNamed(shapes, head);
  if (!member || member === 'Extensions') return `Member must be an updatable attribute path, got '${path}'`;
  const shape = shapes[member];
  if (sub === undefined) return { keys: [member], shape };
  if (shape.type !== 'structure' || rest.length > 0)
    return `Member must be an updatable attribute path ('${head}' is replaced as a whole), got '${path}'`;
  const subMember = memberNamed(shape.members, sub);
  if (!subMember) return `Member must be an updatable attribute path, got '${path}'`;
  return { keys: [member, subMember], shape: shape.members[subMember] };
}

export const resolveUserPath: PathResolver = (path) => {
  if (path.startsWith('aws:')) {
    const [extension, ...rest] = path.split('.');
    if (!SUPPORTED_EXTENSIONS.includes(extension))
      return `Member must name a supported extension (${ENTERPRISE_EXTENSION}), got '${extension}'`;
    return { keys: ['Extensions', extension, ...rest], shape: rest.length > 0 ? DOCUMENT : { type: 'object' } };
  }
  return resolveAmong({ ...userAttributeShapes, ...userUpdateOnlyShapes }, path);
};

export const resolveGroupPath: PathResolver = (path) => resolveAmong(groupAttributeShapes, path);

/** Apply the operations to a copy of `attributes`; throws a ValidationException naming every bad operation. */
export function applyOperations(
  attributes: Record<string, unknown>,
  operations: AttributeOperation[],
  resolve: PathResolver,
): Record<string, unknown> {
  const result = structuredClone(attributes);
  const violations: ConstraintViolation[] = [];
  operations.forEach((operation, index) => {
    const target = resolve(operation.AttributePath);
    if (typeof target === 'string') {
      violations.push({ path: `operations.${index + 1}.member.attributePath`, rule: target });
      return;
    }
    const value = operation.AttributeValue;
    if (value === undefined || value === null) {
      removeAt(result, target.keys);
      return;
    }
    const found: ConstraintViolation[] = [];
    checkShape(target.shape, value, operation.AttributePath, found);
    if (found.length > 0) violations.push(...found);
    else setAt(result, target.keys, value);
  });
  if (violations.length > 0) throw validationError(violations);
  return result;
}

function setAt(record: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = record;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = structuredClone(value);
}

function removeAt(record: Record<string, unknown>, keys: string[]): void {
  const parents: Record<string, unknown>[] = [record];
  for (const key of keys.slice(0, -1)) {
    const next = parents[parents.length - 1][key];
    if (typeof next !== 'object' || next === null) return;
    parents.push(next as Record<string, unknown>);
  }
  delete parents[parents.length - 1][keys[keys.length - 1]];
  // Drop containers the removal left empty, so no `Name: {}` is stored.
  for (let depth = parents.length - 1; depth > 0; depth--) {
    if (Object.keys(parents[depth]).length > 0) break;
    delete parents[depth - 1][keys[depth - 1]];
  }
}
