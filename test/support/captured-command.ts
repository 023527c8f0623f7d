/**
 * A command's main run in this process (a child process costs seconds), with what it printed and
 * its exit code as the command line gives it: a UsageError, which runCommand turns into exit 2 and
 * a message, is the same here.
 */
import { EXIT, UsageError } from '../../cli/conventions';

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCaptured(main: () => Promise<number>, name = 'audit'): Promise<CommandRun> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(), stdout, stderr };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { code: EXIT.usage, stdout, stderr: `${stderr}${name}: ${error.message}\n` };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
