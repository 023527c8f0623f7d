/**
 * A resource-policy evaluator for the statements lib/access-policies.ts writes, with AWS's
 * semantics for what those statements use:
 * - an explicit Deny that applies wins over everything;
 * - a principal of the resource's own account is allowed absent a Deny (its identity policy is
 *   assumed to allow the action; the local stand-ins model resource policies only); a principal of
 *   another account needs an Allow that applies; an AWS service acting for a resource (the bus
 *   rule) is treated as the resource's own account;
 * - condition operators StringEquals, StringNotEquals, ArnEquals, ArnNotEquals, ArnLike,
 *   ArnNotLike: a list of values matches if any value does (a negated operator: if none does);
 *   a key the request does not carry makes a positive operator false and a negated one true;
 *   several keys in one operator, and several operators, must all hold;
 * - condition key names are case-insensitive, their values are compared case-sensitively;
 *   ArnEquals and ArnLike are the same operator in IAM: each of the six ARN parts is compared on
 *   its own and may use `*` and `?`;
 * - multivalued keys (events:source and events:detail-type on PutEvents) take the set operators:
 *   `ForAnyValue:<op>` holds if some request value satisfies <op> (false when the key is missing
 *   or empty), `ForAllValues:<op>` if every request value does (true when missing or empty). A
 *   plain operator on a multivalued key is treated as the key being absent (lib/access-policies.ts
 *   writes set operators for them for that reason).
 * Anything else (IfExists, NotPrincipal, NotAction...) is refused when the policy is installed,
 * so a policy the evaluator cannot read is never silently half-enforced.
 */

export type ConditionValues = string | string[];
export type ConditionBlock = Record<string, Record<string, ConditionValues>>;

/** A statement as IAM JSON writes it (single values or lists). */
export interface StatementInput {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal: '*' | { AWS: string | string[] } | { Service: string | string[] };
  Action: string | string[];
  Resource: string | string[];
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: StatementInput | StatementInput[];
}

interface Statement {
  sid: string | undefined;
  effect: 'Allow' | 'Deny';
  principal: { kind: 'any' } | { kind: 'aws'; values: string[] } | { kind: 'service'; values: string[] };
  actions: string[];
  resources: string[];
  conditions: { set: SetOperator | undefined; operator: Operator; key: string; values: string[] }[];
}

export interface Policy {
  readonly statements: readonly Statement[];
}

const OPERATORS = ['StringEquals', 'StringNotEquals', 'ArnEquals', 'ArnNotEquals', 'ArnLike', 'ArnNotLike'] as const;
type Operator = (typeof OPERATORS)[number];
type SetOperator = 'ForAnyValue' | 'ForAllValues';

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

/** Who is asking: an IAM principal (role session or user), or an AWS service for one of its resources. */
export type RequestPrincipal = { type: 'aws'; arn: string; account: string } | { type: 'service'; service: string };

export interface AuthorizationRequest {
  /** e.g. `sqs:SendMessage`. */
  action: string;
  resource: string;
  resourceAccount: string;
  principal: RequestPrincipal;
  /** The request context: the condition keys this request carries (names in any case); a list for a multivalued key. */
  context: Record<string, string | readonly string[] | undefined>;
}

export type Decision =
  | { allowed: true; by: 'allow' | 'sameAccount' }
  | { allowed: false; by: 'explicitDeny'; statement: { sid: string | undefined; conditionKeys: string[] } }
  | { allowed: false; by: 'noAllow' };

/** Reads a policy (a JSON string, a document, or a list of statements), refusing what it cannot evaluate. */
export function parsePolicy(input: string | PolicyDocument | readonly StatementInput[]): Policy {
  let document: unknown = input;
  if (typeof input === 'string') {
    try {
      document = JSON.parse(input);
    } catch {
      throw new PolicyError('policy: is not valid JSON');
    }
  }
  const rawStatements = Array.isArray(document)
    ? document
    : isObject(document) && document.Statement !== undefined
      ? [document.Statement].flat()
      : undefined;
  if (rawStatements === undefined) throw new PolicyError('policy: must have a Statement (an object or a list)');
  return { statements: rawStatements.map((raw, index) => parseStatement(raw, index)) };
}

function parseStatement(raw: unknown, index: number): Statement {
  const at = `Statement[${index}]`;
  if (!isObject(raw)) throw new PolicyError(`${at}: must be an object`);
  for (const key of Object.keys(raw)) {
    if (!['Sid', 'Effect', 'Principal', 'Action', 'Resource', 'Condition'].includes(key)) {
      throw new PolicyError(`${at}.${key}: is not supported by the local evaluator (Sid, Effect, Principal, Action, Resource, Condition are)`);
    }
  }
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') throw new PolicyError(`${at}.Effect: must be "Allow" or "Deny"`);
  const strings = (value: unknown, field: string): string[] => {
    const list = [value].flat();
    if (list.length === 0 || !list.every((item): item is string => typeof item === 'string' && item.length > 0)) {
      throw new PolicyError(`${at}.${field}: must be a string or a non-empty list of strings`);
    }
    return list;
  };
  let principal: Statement['principal'];
  if (raw.Principal === '*') principal = { kind: 'any' };
  else if (isObject(raw.Principal) && Object.keys(raw.Principal).length === 1 && raw.Principal.AWS !== undefined) {
    const values = strings(raw.Principal.AWS, 'Principal.AWS');
    principal = values.includes('*') ? { kind: 'any' } : { kind: 'aws', values };
  } else if (isObject(raw.Principal) && Object.keys(raw.Principal).length === 1 && raw.Principal.Service !== undefined) {
    principal = { kind: 'service', values: strings(raw.Principal.Service, 'Principal.Service') };
  } else {
    throw new PolicyError(`${at}.Principal: must be "*", {"AWS": ...} or {"Service": ...}`);
  }
  const conditions: Statement['conditions'] = [];
  if (raw.Condition !== undefined) {
    if (!isObject(raw.Condition)) throw new PolicyError(`${at}.Condition: must be an object`);
    for (const [qualified, keys] of Object.entries(raw.Condition)) {
      const [set, operator] = qualified.includes(':') ? (qualified.split(':', 2) as [string, string]) : [undefined, qualified];
      if (!(OPERATORS as readonly string[]).includes(operator) || (set !== undefined && set !== 'ForAnyValue' && set !== 'ForAllValues')) {
        throw new PolicyError(
          `${at}.Condition.${qualified}: is not supported by the local evaluator (supported: ${OPERATORS.join(', ')}, each alone or after ForAnyValue: or ForAllValues:)`,
        );
      }
      if (!isObject(keys) || Object.keys(keys).length === 0) throw new PolicyError(`${at}.Condition.${operator}: must map condition keys to values`);
      for (const [key, values] of Object.entries(keys)) {
        const list = [values].flat();
        if (list.length === 0 || !list.every((v): v is string => typeof v === 'string')) {
          throw new PolicyError(`${at}.Condition.${qualified}.${key}: must be a string or a non-empty list of strings`);
        }
        conditions.push({ set: set as SetOperator | undefined, operator: operator as Operator, key: key.toLowerCase(), values: list });
      }
    }
  }
  return {
    sid: typeof raw.Sid === 'string' ? raw.Sid : undefined,
    effect: raw.Effect,
    principal,
    actions: strings(raw.Action, 'Action'),
    resources: strings(raw.Resource, 'Resource'),
    conditions,
  };
}

/** The decision for one request under one resource policy. */
export function evaluatePolicy(policy: Policy, request: AuthorizationRequest): Decision {
  const context = new Map<string, string | readonly string[]>();
  for (const [key, value] of Object.entries(request.context)) if (value !== undefined) context.set(key.toLowerCase(), value);
  const applying = policy.statements.filter(
    (statement) =>
      statement.actions.some((pattern) => globMatch(pattern.toLowerCase(), request.action.toLowerCase())) &&
      statement.resources.some((pattern) => globMatch(pattern, request.resource)) &&
      principalMatches(statement.principal, request.principal) &&
      statement.conditions.every((condition) => conditionHolds(condition, context.get(condition.key))),
  );
  const deny = applying.find((statement) => statement.effect === 'Deny');
  if (deny) return { allowed: false, by: 'explicitDeny', statement: { sid: deny.sid, conditionKeys: [...new Set(deny.conditions.map((c) => c.key))] } };
  const sameAccount = request.principal.type === 'service' || request.principal.account === request.resourceAccount;
  if (sameAccount) return { allowed: true, by: 'sameAccount' };
  return applying.some((statement) => statement.effect === 'Allow') ? { allowed: true, by: 'allow' } : { allowed: false, by: 'noAllow' };
}

function principalMatches(principal: Statement['principal'], caller: RequestPrincipal): boolean {
  if (principal.kind === 'any') return true;
  if (principal.kind === 'service') return caller.type === 'service' && principal.values.includes(caller.service);
  if (caller.type !== 'aws') return false;
  return principal.values.some((value) => value === caller.arn || value === caller.account || value === `arn:aws:iam::${caller.account}:root`);
}

function conditionHolds(condition: Statement['conditions'][number], value: string | readonly string[] | undefined): boolean {
  if (condition.set === 'ForAnyValue') {
    const values = value === undefined ? [] : [value].flat();
    return values.some((one) => operatorHolds(condition, one));
  }
  if (condition.set === 'ForAllValues') {
    const values = value === undefined ? [] : [value].flat();
    return values.every((one) => operatorHolds(condition, one));
  }
  return operatorHolds(condition, typeof value === 'string' ? value : undefined);
}

/** One operator against one request value (undefined: the key is absent). */
function operatorHolds(condition: Statement['conditions'][number], value: string | undefined): boolean {
  const negated = condition.operator === 'StringNotEquals' || condition.operator === 'ArnNotEquals' || condition.operator === 'ArnNotLike';
  if (value === undefined) return negated;
  const matches = condition.values.some((expected) =>
    condition.operator.startsWith('String') ? expected === value : arnMatches(expected, value),
  );
  return negated ? !matches : matches;
}

/** ArnEquals / ArnLike: six colon-separated parts, each matched on its own, `*` and `?` allowed. */
export function arnMatches(pattern: string, arn: string): boolean {
  const patternParts = splitArn(pattern);
  const arnParts = splitArn(arn);
  if (!patternParts || !arnParts) return false;
  return patternParts.every((part, index) => globMatch(part, arnParts[index]));
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/** `*` any run of characters, `?` one character; everything else literal and case-sensitive. */
export function globMatch(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return regex.test(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
