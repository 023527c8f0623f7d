import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { identityChangeJsonSchema } from '../../lambdas/domain/json-schema';

const SCHEMA_FILE = join(__dirname, '../../schemas/identity-change-v1.schema.json');

describe('the published JSON Schema', () => {
  it('is the one generated from the zod contract (regenerate with `npm run schema`)', () => {
    const committed = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(committed).toEqual(identityChangeJsonSchema());
  });

  it('describes all six event types', () => {
    const schema = identityChangeJsonSchema() as { oneOf?: { properties: { type: { const: string } } }[] };
    expect(schema.oneOf?.map((s) => s.properties.type.const).sort()).toEqual([
      'group.deleted', 'group.upserted', 'membership.added', 'membership.removed', 'user.deleted', 'user.upserted',
    ]);
  });
});
