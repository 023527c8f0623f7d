/**
 * Realistic v1 documents for the bench: people as an HR feed sends them (ExternalId, enterprise
 * extension, one email) and the events that carry them. Deterministic: the same inputs give the
 * same documents, so two runs (ours and the baseline) see exactly the same workload.
 */
import type { IdentityChange } from '../../lambdas/domain/identity-change';
import {
  EXTERNAL_ID_ISSUER,
  FIRST_NAMES as FIRST,
  LAST_NAMES as LAST,
  userDocument,
  type Person,
} from '../../local/scenario/people';

export { EXTERNAL_ID_ISSUER, userDocument, type Person };

export const BENCH_ACTOR = 'bench';

/** The `index`-th person of a run; `tag` keeps names of different bench cases apart. */
export function person(index: number, department: string, tag = 'bench'): Person {
  const first = FIRST[index % FIRST.length];
  const last = LAST[Math.floor(index / FIRST.length) % LAST.length];
  return {
    userName: `${first}.${last}.${tag}${index}`.toLowerCase(),
    externalId: `W-${tag}-${10_000 + index}`,
    first,
    last,
    department,
    title: 'Engineer',
  };
}

/** Hands out event ids and strictly increasing occurredAt values (ordering matters to the engine). */
export class EventFactory {
  private sequence = 0;
  private clock: number;

  constructor(
    private readonly idPrefix: string,
    start = Date.UTC(2026, 10, 2, 9, 0, 0),
  ) {
    this.clock = start;
  }

  userUpserted(p: Person, groups?: string[]): IdentityChange {
    return this.event({ type: 'user.upserted', data: { user: userDocument(p), ...(groups && { groups }) } });
  }

  userDeletedByExternalId(p: Person): IdentityChange {
    return this.event({ type: 'user.deleted', data: { externalId: { Issuer: EXTERNAL_ID_ISSUER, Id: p.externalId } } });
  }

  groupUpserted(displayName: string): IdentityChange {
    return this.event({
      type: 'group.upserted',
      data: { group: { DisplayName: displayName, Description: `${displayName} (managed by identity-provisioner)` } },
    });
  }

  groupDeleted(displayName: string): IdentityChange {
    return this.event({ type: 'group.deleted', data: { displayName } });
  }

  membership(type: 'membership.added' | 'membership.removed', p: Person, groupDisplayName: string): IdentityChange {
    return this.event({ type, data: { userName: p.userName, groupDisplayName } });
  }

  private event(body: Pick<IdentityChange, 'type' | 'data'>): IdentityChange {
    this.clock += 1_000;
    return {
      id: `${this.idPrefix}-${String(++this.sequence).padStart(5, '0')}`,
      occurredAt: new Date(this.clock).toISOString(),
      actor: BENCH_ACTOR,
      ...body,
    } as IdentityChange;
  }
}
