/**
 * Every operator command follows the same conventions (cli/conventions.ts), checked on the real
 * commands as a user runs them (tsx child processes): --version, -h stating the exit codes in the
 * same words, an unknown or misspelled option answered with "did you mean" and exit 2 (never
 * Node's raw parseArgs text), and no AWS SDK Node-version warning on stderr. npm start and the
 * soak are only run on their fast paths here (help, version, a bad option) and, for the soak,
 * until its first messages are sent.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { useDynalite } from '../support/dynalite';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const SDK_WARNING = /NodeVersion|Node\.js|node >=/;

/** The environment of a user who has not silenced the SDK's warning themselves. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  return env;
}

function run(script: string, args: string[], env = userEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(TSX, [join(ROOT, script), ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

const COMMANDS = [
  { name: 'npm start', script: 'local/cli/start.ts', misspelled: '--evnts', meant: '--events' },
  { name: 'npm run send', script: 'local/cli/send.ts', misspelled: '--producr', meant: '--producer' },
  { name: 'npm run audit', script: 'cli/audit.ts', misspelled: '--formt', meant: '--format' },
  { name: 'npm run dlq', script: 'cli/dlq.ts', misspelled: '--formt', meant: '--format' },
  { name: 'npm run soak', script: 'bench/soak.ts', misspelled: '--evnts', meant: '--events' },
];

const rawParseArgsText = (text: string) => /ERR_PARSE_ARGS|Unknown option '--|Option '.*' argument/.test(text);

describe.each(COMMANDS)('$name', ({ script, misspelled, meant }) => {
  it('--version prints the version and exits 0', async () => {
    const result = await run(script, ['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('-h exits 0 and states the exit codes in the shared words', async () => {
    const result = await run(script, ['-h']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: /);
    expect(result.stdout).toMatch(/Exit codes: 0 ok, 1 the operation failed, 2 usage error[,.]/);
    expect(result.stdout).toMatch(/-h, --help/);
    expect(result.stdout).toMatch(/--version/);
    expect(result.stderr).toBe('');
  });

  it('--bogus exits 2 naming it, without Node\'s raw text', async () => {
    const result = await run(script, ['--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option --bogus/);
    expect(result.stderr).toMatch(/--help/);
    expect(rawParseArgsText(result.stderr)).toBe(false);
    expect(result.stdout).toBe('');
  });

  it(`${misspelled} exits 2 with "did you mean ${meant}?"`, async () => {
    const result = await run(script, [misspelled, 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`did you mean ${meant}?`);
    expect(rawParseArgsText(result.stderr)).toBe(false);
  });
});

/**
 * plan, reconcile and drift answer as terraform plan -detailed-exitcode: 2 means "changes", so a
 * usage error is 1, said the same way by all three (cli/conventions.ts DETAILED_EXIT).
 */
const DETAILED_COMMANDS = [
  { name: 'npm run plan', script: 'cli/plan.ts', misspelled: '--evnts', meant: '--events', changes: '2 changes planned' },
  { name: 'npm run reconcile', script: 'cli/reconcile.ts', misspelled: '--rooster', meant: '--roster', changes: '2 changes planned' },
  { name: 'npm run drift', script: 'cli/drift.ts', misspelled: '--repiar', meant: '--repair', changes: '2 drift found' },
];

describe.each(DETAILED_COMMANDS)('$name (terraform-style exit codes)', ({ name, script, misspelled, meant, changes }) => {
  const command = name.replace('npm run ', '');

  it('--version prints the version and exits 0', async () => {
    expect(await run(script, ['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('-h exits 0 and states the exit codes in the shared words', async () => {
    const result = await run(script, ['-h']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: /);
    expect(result.stdout).toContain(`Exit codes (as terraform plan -detailed-exitcode): 0 `);
    expect(result.stdout).toContain(`, 1 error, ${changes}.`);
    expect(result.stdout).toContain('1  error: a usage error (as in terraform, 1, never 2)');
    expect(result.stderr).toBe('');
  });

  it(`${misspelled} exits 1 (never 2, which means changes) with "did you mean ${meant}?"`, async () => {
    const result = await run(script, [misspelled, 'x']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^${command}: usage error: unknown option ${misspelled} \\(did you mean ${meant}\\?\\)\nRun with --help for usage\\.\n$`));
    expect(rawParseArgsText(result.stderr)).toBe(false);
  });
});

it('npm start -h also states 130 (stopped by Ctrl-C)', async () => {
  const result = await run('local/cli/start.ts', ['-h']);
  expect(result.stdout).toMatch(/Exit codes: 0 ok, 1 the operation failed, 2 usage error, 130 stopped by Ctrl-C\./);
});

it('npm run bench: a misspelled option is answered with "did you mean", exit 2', async () => {
  const result = await run('bench/run.ts', ['--quik']);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('did you mean --quick?');
  expect(rawParseArgsText(result.stderr)).toBe(false);
});

describe('the AWS SDK\'s Node-version warning never reaches the user', () => {
  const dynamo = useDynalite();

  it('npm run audit, with SDK clients at work', async () => {
    const result = await run('cli/audit.ts', ['user', 'nobody', '--dynamodb-endpoint', dynamo.current.endpoint, '--table', dynamo.current.tables.audit]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('No records about nobody.\n');
    expect(result.stderr).not.toMatch(SDK_WARNING);
    expect(result.stderr).toBe('');
  });

  it('npm run soak, once it has sent its events through the SDK', async () => {
    // Its own temporary folder (the soak's work dir goes under TMPDIR), removed afterwards.
    const tmp = mkdtempSync(join(tmpdir(), 'soak-warning-'));
    try {
      const child = spawn(TSX, [join(ROOT, 'bench/soak.ts'), '--events', '20', '--outage-ms', '0'], {
        cwd: ROOT,
        env: userEnv({ TMPDIR: tmp }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      const exited = new Promise<void>((done) => child.on('exit', () => done()));
      await new Promise<void>((sent, failed) => {
        const timer = setTimeout(() => failed(new Error(`the soak sent nothing within 90 s:\n${stderr}`)), 90_000);
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString('utf8');
          if (/sent \d+ messages/.test(stderr)) {
            clearTimeout(timer);
            sent();
          }
        });
        child.on('exit', () => {
          clearTimeout(timer);
          /sent \d+ messages/.test(stderr) ? sent() : failed(new Error(`the soak stopped before sending:\n${stderr}`));
        });
      });
      // The clients have sent; a warning, if any, is written when the first one is created.
      await new Promise((settle) => setTimeout(settle, 1_000));
      child.kill('SIGTERM');
      await exited;
      expect(stderr).toMatch(/sent \d+ messages/);
      expect(stderr).not.toMatch(SDK_WARNING);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('no local pipeline running: exit 2, saying how to start one', () => {
  let empty: string;
  beforeAll(() => {
    empty = mkdtempSync(join(tmpdir(), 'no-pipeline-'));
  });
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it.each([
    ['npm run audit', 'cli/audit.ts', ['user', 'ann']],
    ['npm run dlq', 'cli/dlq.ts', ['list']],
    ['npm run send', 'local/cli/send.ts', [join(ROOT, 'examples/onboarding.jsonl')]],
  ])('%s', async (_name, script, args) => {
    const result = await run(script, [...args, '--local-dir', empty]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/No local pipeline is running/);
    expect(result.stderr).toMatch(/npm start/);
  });
});

describe('directories given on the command line', () => {
  it('are taken from where the user ran npm (INIT_CWD), not from the package root', async () => {
    const userDir = mkdtempSync(join(tmpdir(), 'user-dir-'));
    try {
      // Stops at the endpoint check (exit 2), after claiming its state dir.
      const result = await run('local/cli/start.ts', ['--state-dir', 'my-state', '--identitystore-endpoint', 'http://127.0.0.1:9'], userEnv({ INIT_CWD: userDir }));
      expect(result.code).toBe(2);
      expect(readFileSync(join(userDir, 'my-state', '.identity-provisioner-state'), 'utf8')).toBeDefined();
      expect(() => readFileSync(join(ROOT, 'my-state', '.identity-provisioner-state'))).toThrow();
    } finally {
      rmSync(userDir, { recursive: true, force: true });
    }
  });
});
