/**
 * The drift function, started by its schedule (lib/drift-detector.ts): compares the managed scope
 * of the identity store with what the service last applied (lambdas/domain/drift.ts). Thin on
 * purpose, like the consumer: configuration validated at cold start, the adapters built once, and
 * per invocation one detectDrift run, its DriftFindings metric and one log line of counts.
 *
 * It shares the Identity Store quota with the consumer, so it is paced as one consumer instance
 * (the same REQUESTS_PER_SECOND) and it yields: between groups (and batches of users) it waits,
 * within the invocation's time, while the consumer's source queues hold events.
 *
 * With DRIFT_ACTION=repair it puts the repairs on the bus as the built-in producer drift-repair
 * (source identity-provisioner.drift-repair): ordinary v1 events that the consumer applies, checks
 * and audits like any producer's. The function itself never writes to the identity store.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { DynamoDbAuditLog } from '../adapters/dynamodb-audit-log';
import { DynamoDbProcessingState } from '../adapters/dynamodb-processing-state';
import { EventBridgeOutcomePublisher } from '../adapters/eventbridge-outcome-publisher';
import { EventBridgeRepairSender } from '../adapters/eventbridge-repair-sender';
import { queuedEvents } from '../adapters/sqs-queue-depth';
import { IdentityStoreAdapter } from '../adapters/identity-store';
import { serviceRuntime } from './service-runtime';
import { detectDrift, type DriftReport } from '../domain/drift';
import { loadDriftRuntimeConfig } from '../shared/config';
import { METRIC } from '../shared/telemetry';

/** How often a waiting run asks the source queues whether they still hold events. */
export const YIELD_POLL_MS = 5_000;
/** The source queues held events for the rest of the invocation: the run ends, the next one starts afresh. */
export class DriftYieldTimeoutError extends Error {
  constructor(waitedMs: number) {
    super(
      `drift run abandoned: the source queues held events for ${Math.round(waitedMs / 1000)} s, until the invocation's ` +
        'time ran out; event processing goes first, the next scheduled run checks again',
    );
    this.name = 'DriftYieldTimeoutError';
  }
}


export interface YieldOptions {
  /** Events waiting in the source queues; a failure to ask is logged and not waited on. */
  queued(): Promise<number>;
  /** Epoch ms after which the run may no longer wait (the invocation's deadline less a margin). */
  waitUntil(): number;
  onQueryFailed?(error: unknown): void;
  onWaiting?(queued: number): void;
  sleep?(ms: number): Promise<void>;
  now?(): number;
  pollMs?: number;
}

/**
 * Waits while the source queues hold events, polling every pollMs, never past waitUntil(): then it
 * throws DriftYieldTimeoutError (a run that cannot read without competing with the events ends).
 * If the queues cannot be asked, it does not wait: the run is paced anyway.
 */
export function yieldingTo(options: YieldOptions): () => Promise<void> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? YIELD_POLL_MS;
  return async () => {
    const started = now();
    let announced = false;
    for (;;) {
      let queued: number;
      try {
        queued = await options.queued();
      } catch (error) {
        options.onQueryFailed?.(error);
        return;
      }
      if (queued === 0) return;
      if (!announced) {
        options.onWaiting?.(queued);
        announced = true;
      }
      const left = options.waitUntil() - now();
      if (left <= 0) throw new DriftYieldTimeoutError(now() - started);
      await sleep(Math.min(pollMs, left));
    }
  };
}


export function createDriftRuntime(env: NodeJS.ProcessEnv = process.env) {
  const config = loadDriftRuntimeConfig(env);
  const { logger, metrics, tracer, budget, identityStoreClient, dynamodb, sqs, eventBridge } = serviceRuntime(config);
  const clock = { now: () => new Date() };

  const identityStore = new IdentityStoreAdapter({
    client: identityStoreClient,
    identityStoreId: config.IDENTITY_STORE_ID,
    onCall: () => metrics.addMetric(METRIC.identityStoreCalls, MetricUnit.Count, 1),
  });
  const state = new DynamoDbProcessingState({ client: dynamodb, tableName: config.STATE_TABLE_NAME, clock });
  const audit = new DynamoDbAuditLog({ client: dynamodb, tableName: config.AUDIT_TABLE_NAME, retentionDays: config.AUDIT_RETENTION_DAYS });
  const publisher = new EventBridgeOutcomePublisher(eventBridge, config.EVENT_BUS_NAME);
  const repair = config.DRIFT_ACTION === 'repair' ? new EventBridgeRepairSender(eventBridge, config.EVENT_BUS_NAME) : undefined;

  // When the current invocation must stop waiting: its deadline less the retry safety margin.
  let waitDeadline = 0;
  const yieldToEvents = yieldingTo({
    queued: () => queuedEvents(sqs, config.SOURCE_QUEUE_URLS),
    waitUntil: () => waitDeadline,
    onQueryFailed: (error) =>
      logger.warn('source queues not asked; not waiting for them', { errorName: error instanceof Error ? error.name : typeof error }),
    onWaiting: (queued) => logger.info('waiting while the source queues hold events', { queued }),
  });

  return {
    config,
    logger,
    metrics,
    tracer,
    /** Per invocation: waits and retries end a safety margin before the function's deadline. */
    startInvocation(context: Context): void {
      waitDeadline = Date.now() + context.getRemainingTimeInMillis() - config.RETRY_SAFETY_MARGIN_MS;
      budget.setDeadline(waitDeadline);
    },
    run(): Promise<DriftReport> {
      return detectDrift(
        { identityStore, state, applied: state, memory: state, audit, publisher, repair, clock, yieldToEvents },
        { identityStoreId: config.IDENTITY_STORE_ID, managedGroupScope: config.MANAGED_GROUP_SCOPE, action: config.DRIFT_ACTION },
      );
    },
  };
}

export type DriftRuntime = ReturnType<typeof createDriftRuntime>;

/**
 * What an invocation returns (and logs): counts and event ids, no names or attribute values.
 * npm run drift -- --stack NAME invokes the function and prints it (cli/drift.ts).
 */
export interface DriftRunSummary {
  at: string;
  identityStoreId: string;
  action: DriftReport['action'];
  appliedFacts: number;
  groupsChecked: number;
  usersChecked: number;
  findings: number;
  newFindings: number;
  counts: DriftReport['counts'];
  published: boolean | undefined;
  /** Action repair: the ids of the repair events built (sent or not; hashes of finding keys, no names). */
  repairEventIds?: string[];
  repairsSent?: number;
  repairsFailed?: { id: string; reason: string }[];
  notRepaired?: number;
}

export function summaryOf(report: DriftReport): DriftRunSummary {
  return {
    at: report.at,
    identityStoreId: report.identityStoreId,
    action: report.action,
    appliedFacts: report.appliedFacts,
    groupsChecked: report.groupsChecked,
    usersChecked: report.usersChecked,
    findings: report.findings.length,
    newFindings: report.newFindings,
    counts: report.counts,
    published: report.published?.ok,
    ...(report.repair && {
      repairEventIds: report.repair.events.map((event) => event.id),
      repairsSent: report.repair.sent,
      repairsFailed: report.repair.failed,
      notRepaired: report.repair.notRepaired.length,
    }),
  };
}

const runtime = createDriftRuntime();

async function runDrift(_event: unknown, context: Context): Promise<DriftRunSummary> {
  const { logger, metrics } = runtime;
  runtime.startInvocation(context);
  const report = await runtime.run();
  const summary = summaryOf(report);
  // Every run emits it, 0 included: the drift alarm watches its maximum.
  metrics.addMetric(METRIC.driftFindings, MetricUnit.Count, summary.findings);
  if (summary.findings === 0) logger.info('drift run: no drift', { ...summary });
  else logger.warn('drift run: drift found', { ...summary });
  if (report.published?.ok === false) logger.error('identity.drift.detected not published', { error: report.published.error });
  if (report.repair?.skipped !== undefined) logger.error('drift repairs not sent', { reason: report.repair.skipped });
  return summary;
}

export const handler = middy(runDrift)
  .use(captureLambdaHandler(runtime.tracer))
  .use(injectLambdaContext(runtime.logger, { resetKeys: true }))
  .use(logMetrics(runtime.metrics, { captureColdStartMetric: true }));
