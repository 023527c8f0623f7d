/**
 * Everything the consumer builds once per cold start: validated config, Powertools instances,
 * SDK clients (endpoints from the SDK's own AWS_ENDPOINT_URL_* variables, so the same code runs
 * against the local emulator, queue and dynalite), adapters, and the idempotent record function.
 */
import { BatchProcessor, EventType, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, IdempotencyValidationError, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSRecord } from 'aws-lambda';
import { DynamoDbAuditLog } from '../adapters/dynamodb-audit-log';
import { DynamoDbProcessingState } from '../adapters/dynamodb-processing-state';
import { EventBridgeOutcomePublisher } from '../adapters/eventbridge-outcome-publisher';
import { SqsTransport } from '../adapters/sqs-transport';
import { serviceRuntime } from './service-runtime';
import { IdCache } from '../domain/id-cache';
import { dispositionOf } from '../domain/disposition';
import { PRODUCER_REFUSAL_CODES } from '../domain/error-codes';
import { factsOfReading, type Reading } from '../domain/parse-event';
import type { Outcome } from '../domain/ports';
import { processReading } from '../domain/process-event';
import { loadRuntimeConfig } from '../shared/config';
import { LOG_MESSAGE, METRIC } from '../shared/telemetry';
import {
  consumeRecord,
  deliveryOf,
  dispose,
  IDEMPOTENCY_PATHS,
  IDEMPOTENCY_TTL_SECONDS,
  idempotencyInputOf,
  processDependencies,
  readRecord,
  RedeliveryRequestedError,
  refusedReading,
  RejectedToDeadLetterQueueError,
  reusedIdMessage,
  UnconfirmedRecordError,
  type ConsumedSummary,
  type ConsumerObserver,
  consumerSettingsOf,
} from './consume-record';

const OUTCOME_METRIC: Record<Outcome, string> = {
  APPLIED: METRIC.applied,
  NOOP: METRIC.noop,
  SUPERSEDED: METRIC.superseded,
  REJECTED: METRIC.rejected,
  FAILED: METRIC.failed,
  RETRYING: METRIC.retrying,
};

export function createConsumerRuntime(env: NodeJS.ProcessEnv = process.env) {
  const config = loadRuntimeConfig(env);
  const { logger, metrics, tracer, budget, identityStoreClient, dynamodb, sqs, eventBridge } = serviceRuntime(config);
  const clock = { now: () => new Date() };

  const observer: ConsumerObserver = {
    call: () => metrics.addMetric(METRIC.identityStoreCalls, MetricUnit.Count, 1),
    result: (result) => {
      metrics.addMetric(OUTCOME_METRIC[result.record.outcome], MetricUnit.Count, 1);
      if (result.announcementFailed) metrics.addMetric(METRIC.outcomeEventsNotPublished, MetricUnit.Count, 1);
      if (result.record.errorCode !== undefined && PRODUCER_REFUSAL_CODES.includes(result.record.errorCode)) {
        metrics.addMetric(METRIC.producerRefused, MetricUnit.Count, 1);
      }
      // Ids, codes and counts only: names and attributes stay out of the logs.
      const entry = {
        eventId: result.eventId,
        type: result.record.type,
        outcome: result.record.outcome,
        attempt: result.record.attempt,
        writes: result.record.writes,
        waitedMs: result.record.waitedMs,
        errorCode: result.record.errorCode,
        producer: result.record.producer,
        via: result.record.via,
      };
      if (result.failure === undefined) logger.info('event processed', entry);
      else logger.warn('event not applied', entry);
      // A failure nothing classifies is a bug to find: its stack (without the message, which may
      // quote a name) goes to the log, on every attempt until it ends FAILED.
      if (result.failure?.unexpected) logger.error('unexpected failure', { eventId: result.eventId, ...result.failure.unexpected });
      if (result.warnings.length > 0) logger.warn('best-effort steps failed', { eventId: result.eventId, warnings: result.warnings });
    },
  };

  const settings = consumerSettingsOf(config);
  const dependencies = {
    identityStoreClient,
    idCache: new IdCache(config.ID_CACHE_TTL_SECONDS * 1000, clock),
    state: new DynamoDbProcessingState({ client: dynamodb, tableName: config.STATE_TABLE_NAME }),
    audit: new DynamoDbAuditLog({ client: dynamodb, tableName: config.AUDIT_TABLE_NAME, retentionDays: config.AUDIT_RETENTION_DAYS }),
    publisher: new EventBridgeOutcomePublisher(eventBridge, config.EVENT_BUS_NAME),
    transport: new SqsTransport(sqs, config.DEAD_LETTER_QUEUE_URL, config.QUEUE_KIND === 'fifo', config.DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES),
    clock,
    observer,
  };

  // When the current invocation ends; subject leases taken in it last no longer than that.
  // Set per invocation and read by its records, like the retry budget.
  let invocationDeadline = new Date(0);

  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: IDEMPOTENCY_PATHS.eventKeyJmesPath,
    // The same id with other content is not a duplicate: Powertools refuses it (ID_REUSED below).
    payloadValidationJmesPath: IDEMPOTENCY_PATHS.payloadValidationJmesPath,
    expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
    // Runs only when a stored result answers a repeated delivery: count and log the duplicate.
    responseHook: (response) => {
      metrics.addMetric(METRIC.duplicates, MetricUnit.Count, 1);
      logger.info(LOG_MESSAGE.duplicate, { eventId: (response as { eventId?: string }).eventId });
      return response;
    },
  });
  const consumeIdempotently = makeIdempotent(
    (input: { idempotencyKey: string; contentHash: string; record: SQSRecord; reading: Reading }): Promise<ConsumedSummary> =>
      consumeRecord(input.record, input.reading, dependencies, settings, invocationDeadline),
    {
      persistenceStore: new DynamoDBPersistenceLayer({ tableName: config.IDEMPOTENCY_TABLE_NAME, awsSdkV3Client: dynamodb }),
      config: idempotencyConfig,
    },
  );

  /**
   * A reading refused before the engine could look at it, through the same record path as any
   * other: recorded, counted, announced, logged, then disposed of (to the DLQ, or left alone).
   */
  async function refuse(record: SQSRecord, reading: Reading): Promise<ConsumedSummary> {
    const result = await processReading(
      reading,
      deliveryOf(record, settings, clock.now(), invocationDeadline),
      processDependencies(dependencies, settings, { waitedMs: 0 }),
      settings,
    );
    observer.result(result);
    try {
      return await dispose(record, result, dependencies.transport);
    } catch (error) {
      if (error instanceof RejectedToDeadLetterQueueError) return error.summary;
      throw error;
    }
  }

  /**
   * An id this door already used, within the idempotency window, for different content: not a
   * duplicate to answer from the store (the change would vanish), but a mistake to surface.
   * Recorded, moved to the DLQ with the reason, then acknowledged; the first event's outcome stands.
   */
  function reusedIdReading(reading: Reading): Reading {
    return refusedReading(reading, { code: 'ID_REUSED', message: reusedIdMessage(factsOfReading(reading).id), owedWaitMs: 0 }, true);
  }

  return {
    config,
    logger,
    metrics,
    tracer,
    batch:
      config.QUEUE_KIND === 'fifo'
        ? { kind: 'fifo' as const, processor: new SqsFifoPartialProcessorAsync() }
        : { kind: 'standard' as const, processor: new BatchProcessor(EventType.SQS) },

    /**
     * Per invocation, before any record is trusted: SQS confirms each record was received from the
     * queue it names (a hand-made invocation cannot fake a live receipt handle). Returns the records
     * it did not confirm, with why.
     */
    async confirmRecords(records: readonly SQSRecord[]): Promise<Map<string, string>> {
      // Kept away for the rest of the invocation and a minute, long enough for the event source
      // mapping to delete what succeeded.
      const seconds = (invocationDeadline.getTime() - Date.now()) / 1000 + 60;
      return dependencies.transport.confirmReceived(records, seconds);
    },

    /** The one parse of a record's body. */
    read(record: SQSRecord): Reading {
      return readRecord(record, config.PRODUCERS);
    },

    /**
     * A record SQS did not confirm: recorded as REJECTED UNCONFIRMED_RECORD under its message id
     * (nothing in the body can be trusted, not even its id), then reported failed, so a real message
     * comes back. Throws.
     */
    async refuseUnconfirmed(record: SQSRecord, reading: Reading, reason: string): Promise<never> {
      const failure = { code: 'UNCONFIRMED_RECORD' as const, message: `not applied: SQS did not confirm this record as received from its queue (${reason})`, owedWaitMs: 0 };
      await refuse(record, refusedReading(reading, failure, false, `unconfirmed:${record.messageId}`));
      throw new UnconfirmedRecordError(record.messageId);
    },

    /** Per invocation: the retry budget ends a safety margin before the function's deadline. */
    startInvocation(context: Context): void {
      invocationDeadline = new Date(Date.now() + context.getRemainingTimeInMillis());
      budget.setDeadline(invocationDeadline.getTime() - config.RETRY_SAFETY_MARGIN_MS);
      idempotencyConfig.registerLambdaContext(context);
    },

    /**
     * A rejected record is acknowledged after it reached the DLQ, but its idempotency record is
     * dropped (the function threw), so a corrected event redriven with the same id is applied.
     */
    async consume(record: SQSRecord, reading: Reading): Promise<ConsumedSummary> {
      try {
        return await consumeIdempotently({ ...idempotencyInputOf(record, reading), record, reading });
      } catch (error) {
        if (error instanceof RejectedToDeadLetterQueueError) return error.summary;
        if (error instanceof IdempotencyValidationError) return refuse(record, reusedIdReading(reading));
        if (!(error instanceof RedeliveryRequestedError)) {
          // It failed before the record path could record an outcome (another invocation is
          // applying this very event, or the idempotency store is down): nothing recorded, so it
          // comes back, soon rather than after the queue's long visibility timeout. Best effort:
          // it is reported failed either way.
          const disposition = dispositionOf({
            recorded: false,
            receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
            maxReceiveCount: settings.maxReceiveCount,
            redeliveryBaseDelaySeconds: settings.redeliveryBaseDelaySeconds,
          });
          await dependencies.transport
            .delayRedelivery(record, disposition.kind === 'retryAfter' ? disposition.seconds : 0)
            .catch((failure: unknown) =>
              logger.warn('redelivery delay not set; the queue visibility timeout applies', {
                messageId: record.messageId,
                errorName: failure instanceof Error ? failure.name : typeof failure,
              }),
            );
        }
        logger.warn('record left for redelivery', {
          messageId: record.messageId,
          receiveCount: record.attributes.ApproximateReceiveCount,
          errorName: error instanceof Error ? error.name : typeof error,
          errorCode: (error as { code?: string }).code,
        });
        throw error;
      }
    },
  };
}

export type ConsumerRuntime = ReturnType<typeof createConsumerRuntime>;

