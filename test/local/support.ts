import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';

/** One SQS "second" lasts this many ms in tests: a VisibilityTimeout of 2 is 200 ms. */
export const TEST_SECOND_MS = 100;

const dummyCredentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export function sqsClientFor(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: 'us-east-1', credentials: dummyCredentials });
}

export function eventBridgeClientFor(endpoint: string): EventBridgeClient {
  return new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: dummyCredentials });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll a condition; fail with `description` if it does not hold within `timeoutMs`. */
export async function waitFor(condition: () => boolean, description: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for: ${description}`);
    await sleep(10);
  }
}
