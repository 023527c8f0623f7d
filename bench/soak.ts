/**
 * `npm run soak -- --events N --seed S`: the whole pipeline under faults and a DynamoDB outage,
 * checked against the reference model (docs/reliability.md). Exits 1 when any check fails.
 */
import '../cli/quiet-sdk';
import { parseCommandLine, projectVersion, UsageError } from '../cli/conventions';
import { parseFaultSpec } from '../local/emulator';
import { renderSoakReport } from './soak/report';
import { runSoak, SOAK_DEFAULTS } from './soak/run-soak';
import { DEFAULT_SUBJECT_GAP } from './soak/workload';

const HELP = `Usage: npm run soak -- [options]

  --events N        distinct events to generate (default ${SOAK_DEFAULTS.events})
  --seed S          seed of the workload and of the emulator's faults (default ${SOAK_DEFAULTS.seed})
  --faults SPEC     emulator faults (default ${SOAK_DEFAULTS.faults})
  --tps N           Identity Store quota and the deployment's budget (default ${SOAK_DEFAULTS.tps})
  --outage-ms N     how long dynalite is away (default ${SOAK_DEFAULTS.outageMs}; 0 = no outage)
  --subject-gap N   at least N source positions between two events about one person or group
                    (default ${DEFAULT_SUBJECT_GAP}; small values make their deliveries overlap)
  --stall S         give up when a message has waited this long with nothing running (default ${SOAK_DEFAULTS.stallTimeoutMs / 1000})
  -h, --help        this text
  --version         the version

Exit codes: 0 ok, 1 the operation failed, 2 usage error.
  0  ok: every check passed
  1  the operation failed: a check failed, or the run stalled or broke
  2  usage error: a bad option or value
`;

function main(): Promise<number> {
  const { values } = parseCommandLine(
    process.argv.slice(2),
    {
      events: { type: 'string' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      tps: { type: 'string' },
      'outage-ms': { type: 'string' },
      'subject-gap': { type: 'string' },
      stall: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    false,
  );
  if (values.help) {
    process.stdout.write(HELP);
    return Promise.resolve(0);
  }
  if (values.version) {
    process.stdout.write(`${projectVersion()}\n`);
    return Promise.resolve(0);
  }
  const whole = (name: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be a whole number >= ${min}, got "${raw}"`);
    return value;
  };
  const faults = values.faults ?? SOAK_DEFAULTS.faults;
  try {
    parseFaultSpec(faults);
  } catch (error) {
    throw new UsageError(`--faults: ${(error as Error).message}`);
  }
  return runSoak({
    ...SOAK_DEFAULTS,
    events: whole('events', values.events, SOAK_DEFAULTS.events, 20),
    seed: whole('seed', values.seed, SOAK_DEFAULTS.seed, 0),
    faults,
    tps: whole('tps', values.tps, SOAK_DEFAULTS.tps, 1),
    outageMs: whole('outage-ms', values['outage-ms'], SOAK_DEFAULTS.outageMs, 0),
    subjectGap: whole('subject-gap', values['subject-gap'], DEFAULT_SUBJECT_GAP, 1),
    stallTimeoutMs: whole('stall', values.stall, SOAK_DEFAULTS.stallTimeoutMs / 1000, 1) * 1000,
    log: (line) => process.stderr.write(`${line}\n`),
  }).then((report) => {
    process.stdout.write(`${renderSoakReport(report)}\n\n`);
    const { checks, ...counts } = report;
    process.stdout.write(`${JSON.stringify({ ...counts, checks: checks.map((c) => ({ name: c.name, passed: c.passed, problems: c.problems.length })) })}\n`);
    return report.passed ? 0 : 1;
  });
}

Promise.resolve().then(main).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${(error as Error).message}\nRun npm run soak -- --help for the options.\n`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
