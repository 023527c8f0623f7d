/**
 * The audit digester, started every hour by its schedule (lib/audit-digests.ts): writes the digest
 * of each settled hour of the audit trail (lambdas/domain/audit-digest.ts) to the Object Lock
 * bucket, each chained to the one before, so that a record changed, removed or added afterwards
 * shows when `npm run audit -- verify` recomputes them.
 *
 * A window [from, to) is digested only once `to` is the settle time in the past: a record dated T
 * can reach the table up to the consumer's timeout after T. The first run of a deployment starts
 * the chain with the last settled hour; a run that finds itself behind (after an outage) catches up
 * hour by hour and stops while it still has time left, and the next run continues where it stopped.
 *
 * Logs and metrics carry counts, windows and object keys only: never a record's content.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { DynamoDbAuditItemSource } from '../adapters/audit-item-source';
import { S3DigestStore } from '../adapters/s3-digest-store';
import {
  digestObjectKey,
  writeDueDigests,
  type AuditItemSourcePort,
  type DigestStorePort,
} from '../domain/audit-digest';
import type { Clock } from '../domain/ports';
import { loadDigesterRuntimeConfig } from '../shared/config';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../shared/telemetry';

/** A run starts no further window with less than this left: one window is a few queries and one put. */
export const MIN_REMAINING_MS = 60_000;

export interface DigesterRunOptions {
  now: Date;
  /** How long after a window's end it may be digested. */
  settleMs: number;
  /** The span of one digest; windows end on its multiples. */
  windowMs: number;
  /** The invocation's time left, asked before each window. */
  remainingMs(): number;
  clock: Clock;
}

/** What a run did: windows and keys only. */
export interface DigesterRunSummary {
  /** Every window ending at or before this is due (the last settled window end). */
  until: string;
  written: number;
  /** The object key of the first and the last digest written, when any. */
  firstKey?: string;
  lastKey?: string;
  /** `to` of the newest digest written by this run, when any. */
  lastTo?: string;
  /** false when the run stopped for lack of time with windows still due (the next run continues). */
  caughtUp: boolean;
}

/** The last window end that has settled at `now`: now less the settle time, down to a multiple of the window. */
export function settledUntil(now: Date, settleMs: number, windowMs: number): Date {
  return new Date(Math.floor((now.getTime() - settleMs) / windowMs) * windowMs);
}

/**
 * Writes the due digests, and stops between two windows when the invocation's time runs low. The
 * chain starts, when there is none yet, at the window before `until`.
 */
export async function runDigester(
  ports: { source: AuditItemSourcePort; store: DigestStorePort },
  options: DigesterRunOptions,
): Promise<DigesterRunSummary> {
  const { settleMs, windowMs } = options;
  const until = settledUntil(options.now, settleMs, windowMs);
  const { written, caughtUp } = await writeDueDigests(ports, {
    until,
    genesis: new Date(until.getTime() - windowMs),
    maxWindowMs: windowMs,
    now: options.clock.now(),
    stopBefore: () => options.remainingMs() < MIN_REMAINING_MS,
  });
  const keys = written.map((digest) => digestObjectKey(digest));
  return {
    until: until.toISOString(),
    written: written.length,
    ...(written.length > 0 && { firstKey: keys[0], lastKey: keys.at(-1), lastTo: written.at(-1)!.to }),
    caughtUp,
  };
}

export function createDigesterRuntime(env: NodeJS.ProcessEnv = process.env, clock: Clock = { now: () => new Date() }) {
  const config = loadDigesterRuntimeConfig(env);
  const logger = new Logger({ serviceName: SERVICE_NAME });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const tracer = new Tracer({ serviceName: SERVICE_NAME });
  const source = new DynamoDbAuditItemSource({
    client: tracer.captureAWSv3Client(new DynamoDBClient({})),
    tableName: config.AUDIT_TABLE_NAME,
  });
  const store = new S3DigestStore({
    client: tracer.captureAWSv3Client(new S3Client({})),
    bucketName: config.AUDIT_DIGEST_BUCKET_NAME,
  });

  return {
    config,
    logger,
    metrics,
    tracer,
    /** One run: the digests due, a metric of how many, one log line of windows and keys. */
    async invoke(context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<DigesterRunSummary> {
      const summary = await runDigester(
        { source, store },
        {
          now: clock.now(),
          settleMs: config.AUDIT_DIGEST_SETTLE_MINUTES * 60_000,
          windowMs: config.AUDIT_DIGEST_WINDOW_MINUTES * 60_000,
          remainingMs: () => context.getRemainingTimeInMillis(),
          clock,
        },
      );
      // Every run emits it, 0 included: the staleness alarm watches its sum.
      metrics.addMetric(METRIC.digestsWritten, MetricUnit.Count, summary.written);
      if (summary.caughtUp) logger.info('audit digests written', { ...summary });
      else logger.warn('audit digests: stopped before catching up (time ran low); the next run continues', { ...summary });
      return summary;
    },
  };
}

export type DigesterRuntime = ReturnType<typeof createDigesterRuntime>;

const runtime = createDigesterRuntime();

export const handler = middy((_event: unknown, context: Context) => runtime.invoke(context))
  .use(captureLambdaHandler(runtime.tracer))
  .use(injectLambdaContext(runtime.logger, { resetKeys: true }))
  .use(logMetrics(runtime.metrics, { captureColdStartMetric: true }));
