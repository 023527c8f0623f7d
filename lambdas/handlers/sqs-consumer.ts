/**
 * The SQS consumer: identity-change events in, Identity Store changes out. Thin on purpose:
 * cold-start wiring is in consumer-runtime.ts, per-record work in consume-record.ts, and one
 * record's whole path in lambdas/domain/process-event.ts.
 */
import { processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { KeyedSerializer } from '../shared/keyed-serializer';
import { subjectOf } from './consume-record';
import { createConsumerRuntime } from './consumer-runtime';

const runtime = createConsumerRuntime();

async function consumeBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  runtime.startInvocation(context);
  // The event is only the function's input: trust no record SQS does not confirm as received.
  const unconfirmed = await runtime.confirmRecords(event.Records);
  // Records about different people run in parallel; records about the same one run in turn.
  const serializer = new KeyedSerializer();
  const consume = (record: SQSRecord) => {
    // The body is read once, here: the key, the subject and the change all come from this reading.
    const reading = runtime.read(record);
    const reason = unconfirmed.get(record.messageId);
    if (reason !== undefined) return runtime.refuseUnconfirmed(record, reading, reason);
    return serializer.run(subjectOf(record, reading), () => runtime.consume(record, reading));
  };
  const { batch } = runtime;
  // Every failed record already carries its own redelivery delay, so a batch in which all failed
  // is reported record by record like any other, not thrown as a function error.
  // FIFO: a failed record holds back only the rest of its own message group.
  return batch.kind === 'fifo'
    ? processPartialResponse(event, consume, batch.processor, { context, skipGroupOnError: true, throwOnFullBatchFailure: false })
    : processPartialResponse(event, consume, batch.processor, { context, throwOnFullBatchFailure: false });
}

export const handler = middy(consumeBatch)
  .use(captureLambdaHandler(runtime.tracer))
  .use(injectLambdaContext(runtime.logger, { resetKeys: true }))
  .use(logMetrics(runtime.metrics, { captureColdStartMetric: true }));
