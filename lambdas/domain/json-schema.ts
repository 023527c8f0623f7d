/** The event contract as JSON Schema, for producers that do not use our zod schema. */
import { z } from 'zod';
import { CONTRACT_VERSION, identityChangeSchema } from './identity-change';

export function identityChangeJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(identityChangeSchema, { io: 'input', target: 'draft-2020-12' }),
    $id: `https://github.com/identity-provisioner/schemas/identity-change-v${CONTRACT_VERSION}.schema.json`,
    title: `Identity change event, version ${CONTRACT_VERSION}`,
    description:
      'One identity change for identity-provisioner: as an SQS message body, or as the detail of an EventBridge event whose detail-type equals type.',
  };
}
