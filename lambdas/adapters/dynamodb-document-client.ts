/** What the DynamoDB adapters share: how they take a client and recognise a lost condition. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export type AnyDynamoDbClient = DynamoDBClient | DynamoDBDocumentClient;

/** Wraps a plain client; a document client is used as it is (wrapping it again would rewrite its shared config). */
export function asDocumentClient(client: AnyDynamoDbClient): DynamoDBDocumentClient {
  if (client instanceof DynamoDBDocumentClient) return client;
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
