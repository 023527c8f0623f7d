/**
 * Run the Identity Store emulator until SIGTERM/SIGINT.
 *   npm run emulator -- --port 0 --identity-store-id d-1234567890 [--tps 20] ...
 * Prints one line when ready: `identitystore emulator listening on http://127.0.0.1:<port>`.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_IDENTITY_STORE_ID, DEFAULT_TPS, type EmulatorOptions, startEmulator } from '../emulator';

const HELP = `Usage: npm run emulator -- [options]

A local AWS Identity Store API (awsJson1_1) for @aws-sdk/client-identitystore.

Options:
  --host HOST                 interface to bind (default 127.0.0.1)
  --port N                    port; 0 picks a free one (default 0)
  --identity-store-id ID      identity store to host; repeat for several (default ${DEFAULT_IDENTITY_STORE_ID})
  --tps N                     account-wide requests per second; 0 = no quota (default ${DEFAULT_TPS})
  --burst N                   token-bucket size (default = tps)
  --action-tps ACTION=N       per-action limit, e.g. CreateUser=5; repeatable
  --faults SPEC               fault injection, e.g. throttle=0.05,server=0.02,conflict=0.02,latency=0.1:20-200,drop=0.01,retryAfter=1
  --seed N                    fault PRNG seed (default random; shown in /_emulator/stats)
  --state FILE                load state from FILE if present; keep it up to date (atomic writes)
  --throttle-status 400|429   HTTP status of ThrottlingException (default 400, as the live service)
  --retry-after-header        also send Retry-After on Throttling/InternalServer errors
  --principal ARN             CreatedBy/UpdatedBy value (default arn:aws:iam::000000000000:user/emulator)
  -h, --help                  show this help

Admin endpoints: GET /_emulator/health, GET /_emulator/stats, POST /_emulator/reset-stats,
GET /_emulator/writes[?after=N], POST /_emulator/seed. See docs/emulator.md.
`;

class UsageError extends Error {}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return parsed;
}

function parseOptions(argv: string[]): EmulatorOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'identity-store-id': { type: 'string', multiple: true },
      tps: { type: 'string' },
      burst: { type: 'string' },
      'action-tps': { type: 'string', multiple: true },
      faults: { type: 'string' },
      seed: { type: 'string' },
      state: { type: 'string' },
      'throttle-status': { type: 'string' },
      'retry-after-header': { type: 'boolean' },
      principal: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const perActionTps: Record<string, number> = {};
  for (const entry of values['action-tps'] ?? []) {
    const [action, rate] = entry.split('=');
    if (!action || rate === undefined) throw new UsageError(`--action-tps must be ACTION=N, got "${entry}"`);
    perActionTps[action] = number('action-tps', rate) as number;
  }
  const throttleStatus = number('throttle-status', values['throttle-status']);
  if (throttleStatus !== undefined && throttleStatus !== 400 && throttleStatus !== 429)
    throw new UsageError(`--throttle-status must be 400 or 429, got ${throttleStatus}`);
  return {
    host: values.host,
    port: number('port', values.port) ?? 0,
    identityStoreIds: values['identity-store-id'],
    tps: number('tps', values.tps),
    burst: number('burst', values.burst),
    perActionTps,
    faults: values.faults,
    seed: number('seed', values.seed),
    statePath: values.state,
    throttleStatus,
    retryAfterHeader: values['retry-after-header'],
    principal: values.principal,
  };
}

async function main(): Promise<void> {
  let options: EmulatorOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`emulator: ${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(HELP);
    return;
  }
  let emulator;
  try {
    emulator = await startEmulator(options);
  } catch (error) {
    const err = error as Error;
    const isUsage = ['EmulatorOptionsError', 'FaultSpecError'].includes(err.name);
    process.stderr.write(`emulator: ${err.message}\n`);
    process.exit(isUsage ? 2 : 1);
  }
  process.stdout.write(`identitystore emulator listening on ${emulator.endpoint}\n`);
  const shutdown = () => {
    emulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`emulator: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

void main();
