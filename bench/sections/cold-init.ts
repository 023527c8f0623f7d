/**
 * Cold init: how long a fresh Node process takes to load the handler bundle, i.e. the module's
 * top level (config validation, Powertools, SDK clients), which Lambda runs on every cold start.
 * Node's own start-up is not included. Several fresh processes, one discarded warm-up (disk
 * cache), the median reported.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LOCAL_DEFAULTS } from '../../local/pipeline/defaults';
import { planLocalIngestion } from '../../local/pipeline/ingestion';
import { functionEnvironment } from '../../local/pipeline/pipeline';
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
  const env = { ...loadOnlyEnvironment(), BENCH_BUNDLE: bundleFile };
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
 * The local function's environment (the variables lib/ sets on the deployed one). Nothing is
 * contacted while loading, so the endpoints only have to be well-formed.
 */
function loadOnlyEnvironment(): Record<string, string> {
  const unused = 'http://127.0.0.1:9';
  return functionEnvironment(
    { ...LOCAL_DEFAULTS, requestsPerSecond: LOCAL_DEFAULTS.tps },
    {
      identityStoreEndpoint: unused,
      dynamodbEndpoint: unused,
      sqsEndpoint: unused,
      eventBridgeEndpoint: unused,
      deadLetterQueueUrl: `${unused}/000000000000/bench-dlq`,
    },
    planLocalIngestion(LOCAL_DEFAULTS),
  );
}
