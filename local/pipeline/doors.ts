/**
 * Clients for the local pipeline's doors, each signed with the local credentials of the principal
 * it sends as (local/iam), so the local SQS and EventBridge police it as AWS would police that
 * principal. Used by `npm start` and by `npm run send` against a running `npm start`.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localCredentialsFor } from '../iam';
import type { Door } from '../producer';
import type { ProducerDoor } from './pipeline';

export interface LocalDoorEndpoints {
  region: string;
  sqsEndpoint: string;
  eventBridgeEndpoint: string;
  producers: Readonly<Record<string, ProducerDoor>>;
}

export class LocalDoors {
  private readonly sqs = new Map<string, SQSClient>();
  private readonly eventBridge = new Map<string, EventBridgeClient>();

  constructor(private readonly endpoints: LocalDoorEndpoints) {}

  /** The door of `producer`, signed as `principal`. */
  readonly doorFor = (producer: string, principal: string): Door => {
    const door = this.endpoints.producers[producer];
    if (door === undefined) throw new Error(`producer "${producer}" is not declared`);
    const credentials = localCredentialsFor(principal);
    if (door.via === 'queue') {
      let client = this.sqs.get(principal);
      if (!client) {
        client = new SQSClient({ endpoint: this.endpoints.sqsEndpoint, region: this.endpoints.region, credentials, maxAttempts: 1 });
        this.sqs.set(principal, client);
      }
      return { via: 'queue', client, queueUrl: door.queueUrl };
    }
    let client = this.eventBridge.get(principal);
    if (!client) {
      client = new EventBridgeClient({ endpoint: this.endpoints.eventBridgeEndpoint, region: this.endpoints.region, credentials, maxAttempts: 1 });
      this.eventBridge.set(principal, client);
    }
    return { via: 'bus', client, busName: door.busName, source: door.source };
  };

  destroy(): void {
    for (const client of [...this.sqs.values(), ...this.eventBridge.values()]) client.destroy();
  }
}
