/** How much work the source queues hold: what the drift function yields to. */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Events the source queues hold right now: visible plus in flight (being processed), over every queue. */
export async function queuedEvents(sqs: SQSClient, queueUrls: readonly string[]): Promise<number> {
  let total = 0;
  for (const queueUrl of queueUrls) {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    total += Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }
  return total;
}
