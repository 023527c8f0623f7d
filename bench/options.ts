/** `npm run bench -- [options]`: parsing and the two sizes (default and --quick). */
import { resolve } from 'node:path';
import { parseCommandLine } from '../cli/conventions';

export const DEFAULT_RESULTS_FILE = resolve(__dirname, 'results.json');

/**
 * `quotaMatrix`: every combination is one row (ours and the baseline, each on a fresh pipeline).
 * A neighbour at 4 rps uses a fifth of the account's 20.
 */
export const SIZES = {
  /** About a minute of calls at 20 rps per run (ours, then the baseline). */
  default: {
    joiners: 100,
    coldInitRuns: 7,
    quotaMatrix: { maxConcurrency: [2, 5, 10], neighbourRps: [0, 4], joiners: [40, 200] },
  },
  /** Enough joiners that movers and leavers arrive after their joiners were handled (see wave.ts). */
  quick: {
    joiners: 40,
    coldInitRuns: 5,
    quotaMatrix: { maxConcurrency: [2, 5], neighbourRps: [0, 4], joiners: [40] },
  },
} as const;

/** Below this, follow-ups can reach the queue's consumers before the joiners they follow. */
export const MIN_JOINERS = 20;

export const HELP = `Usage: npm run bench -- [options]

Runs reference workloads through the local pipeline (Identity Store emulator with the AWS quota
of 20 requests/s, dynalite, local SQS/EventBridge, the bundled handler in worker processes),
prints a table and writes the same figures to bench/results.json. See docs/performance.md.

Options:
  --joiners N   joiners in the quota wave, each with 2 groups, plus 10% title changes, 10% department
                moves and 5% leavers (default ${SIZES.default.joiners}; --quick ${SIZES.quick.joiners}; at least ${MIN_JOINERS});
                the quota matrix keeps its own sizes
  --quick       the small run (about 3 minutes on 2 cores; the full one about 25)
  --out FILE    where to write the results (default bench/results.json)
  -h, --help    this text
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface QuotaMatrixSpec {
  maxConcurrency: readonly number[];
  neighbourRps: readonly number[];
  joiners: readonly number[];
}

export interface BenchOptions {
  help: boolean;
  quick: boolean;
  joiners: number;
  coldInitRuns: number;
  quotaMatrix: QuotaMatrixSpec;
  out: string;
}

export function parseBenchOptions(argv: string[]): BenchOptions {
  let values;
  try {
    // Errors rewritten as the other commands' are (cli/conventions.ts): never Node's raw text.
    ({ values } = parseCommandLine(
      argv,
      {
        joiners: { type: 'string' },
        quick: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      false,
    ));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const quick = values.quick ?? false;
  const size = quick ? SIZES.quick : SIZES.default;
  let joiners: number = size.joiners;
  if (values.joiners !== undefined) {
    joiners = Number(values.joiners);
    if (!Number.isInteger(joiners) || joiners < MIN_JOINERS) {
      throw new UsageError(`--joiners must be an integer >= ${MIN_JOINERS}, got "${values.joiners}"`);
    }
  }
  return {
    help: values.help ?? false,
    quick,
    joiners,
    coldInitRuns: size.coldInitRuns,
    quotaMatrix: size.quotaMatrix,
    out: resolve(values.out ?? DEFAULT_RESULTS_FILE),
  };
}
