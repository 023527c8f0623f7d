import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CreateTableCommand, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbRequestCounter, NO_TARGET, operationOf } from '../../bench/harness/dynamodb-requests';
import { localDynamoDbClient, startDynalite } from '../../local/dynalite';

/** A request with this X-Amz-Target, and a response that finishes when told. */
function exchange(target: string | undefined) {
  const request = { headers: target === undefined ? {} : { 'x-amz-target': target } } as unknown as IncomingMessage;
  const response = new EventEmitter() as unknown as ServerResponse;
  return { request, response, finish: () => response.emit('finish') };
}

describe('DynamoDB request counting', () => {
  it('names the operation from the X-Amz-Target header', () => {
    expect(operationOf('DynamoDB_20120810.TransactWriteItems')).toBe('TransactWriteItems');
    expect(operationOf(['DynamoDB_20120810.GetItem'])).toBe('GetItem');
    expect(operationOf(undefined)).toBe(NO_TARGET);
    expect(operationOf('')).toBe(NO_TARGET);
  });

  it('counts a request once it has been answered, by operation, sorted, until reset', () => {
    const counter = new DynamoDbRequestCounter();
    const answered = [exchange('DynamoDB_20120810.PutItem'), exchange('DynamoDB_20120810.GetItem'), exchange('DynamoDB_20120810.GetItem'), exchange(undefined)];
    const unanswered = exchange('DynamoDB_20120810.Query');
    for (const e of [...answered, unanswered]) counter.onRequest(e.request, e.response);
    for (const e of answered) e.finish();
    expect(counter.counts()).toEqual({ total: 4, byOperation: { [NO_TARGET]: 1, GetItem: 2, PutItem: 1 } });

    counter.reset();
    expect(counter.counts()).toEqual({ total: 0, byOperation: {} });
  });

  it("counts dynalite's requests through the hook without changing its answers", async () => {
    const counter = new DynamoDbRequestCounter();
    const dynalite = await startDynalite({ onRequest: counter.onRequest });
    const client = localDynamoDbClient(dynalite.endpoint);
    try {
      await client.send(
        new CreateTableCommand({
          TableName: 'counted',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      counter.reset();
      await client.send(new PutItemCommand({ TableName: 'counted', Item: { pk: { S: 'a' }, v: { N: '1' } } }));
      const got = await client.send(new GetItemCommand({ TableName: 'counted', Key: { pk: { S: 'a' } } }));
      await client.send(new GetItemCommand({ TableName: 'counted', Key: { pk: { S: 'missing' } } }));
      await client.send(new QueryCommand({ TableName: 'counted', KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'a' } } }));
      // An error answer is a request dynalite answered too.
      await expect(client.send(new GetItemCommand({ TableName: 'no-such-table', Key: { pk: { S: 'a' } } }))).rejects.toThrow();

      expect(got.Item).toEqual({ pk: { S: 'a' }, v: { N: '1' } });
      expect(counter.counts()).toEqual({ total: 5, byOperation: { GetItem: 3, PutItem: 1, Query: 1 } });
    } finally {
      client.destroy();
      await dynalite.stop();
    }
  });
});
