/**
 * What both functions (the consumer and the drift function) build once, at cold start: Powertools
 * telemetry, and their AWS clients, traced. The Identity Store client takes its slots from the
 * deployment's shared budget (SharedQuota, through the state table) and counts its throttles and
 * the RetryAfterSeconds it waits; `budget` is the retry deadline each invocation sets.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createIdentityStoreClient } from '../adapters/identity-store-client';
import { DynamoDbQuotaLedger } from '../adapters/quota-ledger';
import { errorNameOf, RetryBudget } from '../adapters/retry-after-strategy';
import { SharedQuota } from '../adapters/shared-quota';
import { staticShareOf } from '../shared/config';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../shared/telemetry';

export function serviceRuntime(config: {
  IDENTITY_STORE_REGION: string;
  REQUESTS_PER_SECOND: number;
  QUOTA_INSTANCES: number;
  STATE_TABLE_NAME: string;
}) {
  const logger = new Logger({ serviceName: SERVICE_NAME });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const tracer = new Tracer({ serviceName: SERVICE_NAME });
  const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

  const budget = new RetryBudget();
  const quota = new SharedQuota({
    ledger: new DynamoDbQuotaLedger({ client: dynamodb, tableName: config.STATE_TABLE_NAME }),
    requestsPerSecond: config.REQUESTS_PER_SECOND,
    fallbackRequestsPerSecond: staticShareOf(config),
    onLedgerError: (error) => {
      metrics.addMetric(METRIC.quotaLedgerErrors, MetricUnit.Count, 1);
      logger.warn('shared quota unreachable: using this instance static share for a while', { error: errorNameOf(error) });
    },
  });
  const { client: identityStoreClient } = createIdentityStoreClient({
    region: config.IDENTITY_STORE_REGION,
    pacer: quota,
    budget,
    onThrottle: () => metrics.addMetric(METRIC.throttledCalls, MetricUnit.Count, 1),
    onRetry: (notice) => {
      if (notice.retryAfterSeconds !== undefined) {
        metrics.addMetric(METRIC.retryAfterWaitSeconds, MetricUnit.Seconds, notice.delayMs / 1000);
      }
    },
  });
  tracer.captureAWSv3Client(identityStoreClient);
  return {
    logger,
    metrics,
    tracer,
    budget,
    identityStoreClient,
    dynamodb,
    // Queue URLs are rebuilt from ARNs or read from settings; calls must still go to the configured
    // endpoint (the regional one in AWS, AWS_ENDPOINT_URL_SQS locally), not to the URL's host.
    sqs: tracer.captureAWSv3Client(new SQSClient({ useQueueUrlAsEndpoint: false })),
    eventBridge: tracer.captureAWSv3Client(new EventBridgeClient({})),
  };
}
