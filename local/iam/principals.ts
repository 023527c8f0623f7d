/**
 * Local credentials and the principals they stand for. In AWS a request's signature tells IAM who
 * signed it; locally the access key id alone does: `localAccessKeyIdFor(arn)` is a pure function
 * of the principal ARN, so the sender (npm run send, the function's workers) and the local
 * servers compute the same key without sharing anything. Signatures are not checked: this models
 * who a caller is, not how it proves it.
 */
import { createHash } from 'node:crypto';
import { PRINCIPAL_ARN_PATTERN } from '../../lambdas/shared/producers';

/** The secret every local credential carries (the local servers do not verify signatures). */
export const LOCAL_SECRET_ACCESS_KEY = 'local-secret-not-checked';
/** The session name of a role's local credentials, unless the registry says otherwise. */
export const DEFAULT_SESSION_NAME = 'local';

export interface LocalPrincipal {
  arn: string;
  account: string;
  kind: 'role' | 'user';
  /** AWS's unique id of the role (AROA...) or user (AIDA...): what SQS's SenderId starts with. */
  uniqueId: string;
  /** A role's session name (a role acts through sessions); absent for users. */
  sessionName?: string;
  /** False for a caller whose access key id no registry entry knows. */
  known: boolean;
}

export class PrincipalArnError extends Error {
  constructor(arn: string) {
    super(`"${arn}" is not an IAM role or user ARN (arn:aws:iam::<12 digits>:role/<name> or user/<name>)`);
    this.name = 'PrincipalArnError';
  }
}

function parsePrincipalArn(arn: string): { account: string; kind: 'role' | 'user' } {
  const match = PRINCIPAL_ARN_PATTERN.exec(arn);
  if (!match) throw new PrincipalArnError(arn);
  return { account: match[2], kind: match[3] as 'role' | 'user' };
}

/** Upper-case letters and digits, as AWS's key and unique ids use. */
function idChars(seed: string, length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; out.length < length; i++) out += alphabet[digest[i % digest.length] % alphabet.length];
  return out;
}

/**
 * The access key id of a principal's local credentials: ASIA... for a role (temporary session
 * credentials, as an assumed role has), AKIA... for a user. Deterministic.
 */
export function localAccessKeyIdFor(principalArn: string): string {
  const { kind } = parsePrincipalArn(principalArn);
  return `${kind === 'role' ? 'ASIA' : 'AKIA'}${idChars(`key:${principalArn}`, 16)}`;
}

/** SDK credentials that the local servers map back to `principalArn`. */
export function localCredentialsFor(principalArn: string): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: localAccessKeyIdFor(principalArn), secretAccessKey: LOCAL_SECRET_ACCESS_KEY };
}

/** AWS's unique id format: AROA + 17 for a role, AIDA + 17 for a user. */
export function localUniqueIdFor(principalArn: string): string {
  const { kind } = parsePrincipalArn(principalArn);
  return `${kind === 'role' ? 'AROA' : 'AIDA'}${idChars(`id:${principalArn}`, 17)}`;
}

/** The principal a local server sees for an access key id no registry entry knows. */
export function unknownCallerArn(account: string): string {
  return `arn:aws:iam::${account}:user/unknown-local-caller`;
}

/**
 * SQS's SenderId for a principal: `AROA...:<session>` for a role's session, `AIDA...` for a user
 * (what SQS reports for messages sent by an assumed role and by an IAM user).
 */
export function senderIdOf(principal: LocalPrincipal): string {
  return principal.kind === 'role' ? `${principal.uniqueId}:${principal.sessionName ?? DEFAULT_SESSION_NAME}` : principal.uniqueId;
}

/** The access key id of a SigV4 `Authorization` header (Credential=AKID/date/region/service/aws4_request). */
export function accessKeyIdOfAuthorization(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /Credential=([^/,\s]+)\//.exec(header);
  return match?.[1];
}

/**
 * The principals the local servers recognise, by access key id: the declared producers'
 * principals, the operators, the function's role. Anyone else is the unknown caller.
 */
export class LocalPrincipals {
  private readonly byKey = new Map<string, LocalPrincipal>();

  constructor(entries: Iterable<string | { arn: string; sessionName?: string }> = []) {
    for (const entry of entries) {
      if (typeof entry === 'string') this.add(entry);
      else this.add(entry.arn, entry.sessionName);
    }
  }

  /** Registers a principal (idempotent); a role's session name defaults to `local`. */
  add(arn: string, sessionName?: string): LocalPrincipal {
    const { account, kind } = parsePrincipalArn(arn);
    const principal: LocalPrincipal = {
      arn,
      account,
      kind,
      uniqueId: localUniqueIdFor(arn),
      ...(kind === 'role' && { sessionName: sessionName ?? DEFAULT_SESSION_NAME }),
      known: true,
    };
    this.byKey.set(localAccessKeyIdFor(arn), principal);
    return principal;
  }

  /** Every registered principal. */
  list(): LocalPrincipal[] {
    return [...this.byKey.values()];
  }

  /** Who signed a request, from its Authorization header; the unknown caller of `account` if nobody registered. */
  callerOf(authorization: string | undefined, account: string): LocalPrincipal {
    const key = accessKeyIdOfAuthorization(authorization);
    const known = key === undefined ? undefined : this.byKey.get(key);
    if (known) return known;
    const arn = unknownCallerArn(account);
    return { arn, account, kind: 'user', uniqueId: localUniqueIdFor(arn), known: false };
  }
}
