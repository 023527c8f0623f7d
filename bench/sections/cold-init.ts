/**
 * Cold init: how long a fresh Node process takes to load the handler bundle, i.e. the module's
 * top level (config validation, Powertools, SDK clients), which Lambda runs on every cold start.
 * Node's own start-up is not included. Several fresh processes, one discarded warm-up (disk
 * cache), the median reported.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RuntimeConfig } from '../../lambdas/shared/config';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/shared/telemetry';
import { median, round } from '../report/figures';

const run = promisify(execFile);

const MARKER = 'COLD_INIT_MS=';
/** Timed inside the child: from just before require() to just after it. */
const LOAD_AND_TIME = [
  'const started = process.hrtime.bigint();',
  'require(process.env.BENCH_BUNDLE);',
  `process.stdout.write('\\n${MARKER}' + Number(process.hrtime.bigint() - started) / 1e6 + '\\n');`,
  'process.exit(0);',
].join('\n');

export interface ColdInitFigures {
  medianMs: number;
  runsMs: number[];
}

export async function measureColdInit(bundleFile: string, runs: number): Promise<ColdInitFigures> {
  const env = { ...functionEnvironment(), BENCH_BUNDLE: bundleFile };
  const once = async () => {
    const { stdout } = await run(process.execPath, ['-e', LOAD_AND_TIME], { env, timeout: 30_000 });
    const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
    if (!line) throw new Error(`cold init: no timing in the child's output: ${stdout.slice(0, 200)}`);
    return Number(line.slice(MARKER.length));
  };
  await once();
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) runsMs.push(round(await once(), 1));
  return { medianMs: round(median(runsMs), 1), runsMs };
}

/**
 * What the deployed function has in its environment (lib/ sets the same variables). Nothing is
 * contacted while loading, so the endpoints only have to be well-formed.
 */
function functionEnvironment(): Record<string, string> {
  const config: Record<keyof RuntimeConfig, string> = {
    IDENTITY_STORE_ID: 'd-1234567890',
    IDENTITY_STORE_REGION: 'us-east-1',
    AUDIT_TABLE_NAME: 'bench-audit',
    STATE_TABLE_NAME: 'bench-state',
    IDEMPOTENCY_TABLE_NAME: 'bench-idempotency',
    EVENT_BUS_NAME: 'bench',
    DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:9/000000000000/bench-dlq',
    REQUESTS_PER_SECOND: '10',
    MANAGED_GROUP_SCOPE: 'created',
    MAX_MEMBERSHIP_REMOVALS_PER_EVENT: '10',
    DELETION_CAP: '25',
    DELETION_WINDOW_SECONDS: '3600',
    AUDIT_RETENTION_DAYS: '0',
    ID_CACHE_TTL_SECONDS: '60',
    RETRY_SAFETY_MARGIN_MS: '2000',
    QUEUE_KIND: 'standard',
    MAX_RECEIVE_COUNT: '5',
    REDELIVERY_BASE_DELAY_SECONDS: '30',
  };
  return {
    PATH: process.env.PATH ?? '',
    ...config,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'identity-provisioner-consumer',
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_TRACE_ENABLED: 'false',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // As deployed (lib/provisioner-function.ts): source maps parsed at load are part of the cost.
    NODE_OPTIONS: '--enable-source-maps',
  };
}
