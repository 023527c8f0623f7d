/**
 * Seeding SCIM-style users: like CreateUser, plus the ExternalIds only SCIM provisioning can
 * set, so GetUserId by ExternalId can be exercised locally.
 */
import { insertUser } from './actions';
import { notFound } from './errors';
import { externalIdShape, requestShapes, userAttributeShapes } from './shapes';
import type { ExternalId, Store } from './store';
import { assertShape, type Shape } from './validation';

export type SeedUser = Record<string, unknown> & { UserName: string; ExternalIds?: ExternalId[] };

const seedShape: Shape = {
  type: 'structure',
  members: {
    ...(requestShapes.CreateUser as Extract<Shape, { type: 'structure' }>).members,
    ExternalIds: { type: 'list', member: externalIdShape, min: 1, max: 10 },
  },
  required: (requestShapes.CreateUser as Extract<Shape, { type: 'structure' }>).required,
};

export function seedUser(store: Store, principal: string, identityStoreId: string, user: SeedUser): string {
  assertShape(seedShape, { ...user, IdentityStoreId: identityStoreId });
  const data = store.get(identityStoreId);
  if (!data) throw notFound('IDENTITY_STORE', identityStoreId);
  const attributes = Object.fromEntries(
    Object.keys(userAttributeShapes).filter((name) => user[name] !== undefined).map((name) => [name, user[name]]),
  );
  return insertUser({ identityStoreId, store: data, principal }, attributes, user.ExternalIds).UserId;
}
