/** Regenerates schemas/identity-change-v1.schema.json from the zod contract (npm run schema). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { identityChangeJsonSchema } from '../../lambdas/domain/json-schema';
writeFileSync(join(__dirname, '../../schemas/identity-change-v1.schema.json'), JSON.stringify(identityChangeJsonSchema(), null, 2) + '\n');
