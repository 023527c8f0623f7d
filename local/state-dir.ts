/**
 * The state directory of `npm start` (default .local/): who may use it, and what --fresh may delete.
 *
 * - A marker file (MARKER) is written when this tool creates the directory (or adopts a legacy
 *   .local/ that holds only what npm start writes). `--fresh` deletes only inside a marked
 *   directory, and only the entries npm start writes there; it refuses a folder without the marker.
 * - A lock file (LOCK) with the run's pid, start time and command keeps a second run off the same
 *   directory (its dynalite files, its identity store) while the first runs. A lock whose pid is no
 *   longer alive is stale: the run that held it did not stop cleanly; it is taken over with a note,
 *   and the caller clears what that run left (local/pipeline/leftovers.ts).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const MARKER = '.identity-provisioner-state';
export const LOCK = 'run.lock';
/**
 * What npm start writes into its state directory: all --fresh ever deletes. The audit digests go
 * with the tables they digest: kept alone, the next verify would find every record removed.
 */
export const STATE_ENTRIES = ['dynamodb', 'audit-digests', 'identitystore.json', 'logs', 'build', 'endpoints.json'] as const;

/** A state directory this run may not use (in use, or not ours to wipe): exit code 2. */
export class StateDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateDirError';
  }
}

export interface LockInfo {
  pid: number;
  startedAt: string;
  command: string;
  host?: string;
}

export interface ClaimedStateDir {
  dir: string;
  /** A lock left by a run that is no longer alive, taken over by this one. */
  tookOverFrom?: LockInfo;
  /** Notes for the user (created, adopted, wiped, took over). */
  notes: string[];
  /** Removes the lock (also done when the process exits). */
  release(): void;
}

/** Whether a process with this pid exists (EPERM: it exists, but is someone else's). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's content, or undefined when there is none or it cannot be read. */
export function readLock(dir: string): LockInfo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, LOCK), 'utf8')) as Partial<LockInfo>;
    return typeof parsed.pid === 'number' ? (parsed as LockInfo) : { pid: -1, startedAt: '(unknown)', command: '(unreadable lock)' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { pid: -1, startedAt: '(unknown)', command: '(unreadable lock)' };
  }
}

function describe(lock: LockInfo): string {
  return `pid ${lock.pid}${lock.host && lock.host !== hostname() ? ` on ${lock.host}` : ''}, since ${lock.startedAt}: ${lock.command}`;
}

function isLegacyStateDir(entries: string[]): boolean {
  // A .local/ from before the marker: only what npm start writes, its dynalite files among them.
  return entries.includes('dynamodb') && entries.every((e) => (STATE_ENTRIES as readonly string[]).includes(e) || e === LOCK);
}

/**
 * Makes `dir` this run's: creates and marks it if missing, checks --fresh may wipe it, takes the
 * lock (or refuses, naming the run that holds it), then wipes it when `fresh`. Throws StateDirError.
 */
export function claimStateDir(dir: string, options: { fresh: boolean; command: string }): ClaimedStateDir {
  const notes: string[] = [];
  let marked = false;
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    writeMarker(dir);
    marked = true;
  } else {
    if (!statSync(dir).isDirectory()) throw new StateDirError(`--state-dir ${dir} is not a directory`);
    const entries = readdirSync(dir);
    if (entries.includes(MARKER)) marked = true;
    else if (entries.length === 0 || isLegacyStateDir(entries)) {
      writeMarker(dir);
      marked = true;
      if (entries.length > 0) notes.push(`adopted ${dir} as a state directory of identity-provisioner (marked with ${MARKER})`);
    }
  }
  if (options.fresh && !marked) {
    throw new StateDirError(
      `--fresh refused: ${dir} was not created by identity-provisioner (it has no ${MARKER} marker and holds other files), ` +
        'so nothing in it is deleted. Choose another --state-dir (a new folder is created and marked), or empty it yourself.',
    );
  }

  const lockFile = join(dir, LOCK);
  const mine: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), command: options.command, host: hostname() };
  let tookOverFrom: LockInfo | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, JSON.stringify(mine, null, 2));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        const holder = readLock(dir);
        throw new StateDirError(
          holder
            ? `${dir} is in use by another run (${describe(holder)}). Wait for it to finish or stop it with Ctrl-C, or use another --state-dir.`
            : `cannot take the lock ${lockFile}: ${(error as Error).message}`,
        );
      }
      const holder = readLock(dir)!;
      const sameHost = holder.host === undefined || holder.host === hostname();
      // Another host's pid cannot be checked from here: its lock stands.
      if (!sameHost || (holder.pid !== process.pid && isPidAlive(holder.pid))) {
        throw new StateDirError(`${dir} is in use by another run (${describe(holder)}). Wait for it to finish or stop it with Ctrl-C, or use another --state-dir.`);
      }
      tookOverFrom = holder;
      notes.push(`took over the lock of a run that is no longer running (${describe(holder)}): it did not stop cleanly`);
      rmSync(lockFile, { force: true });
    }
  }

  const release = () => {
    if (readLock(dir)?.pid === process.pid) {
      try {
        unlinkSync(lockFile);
      } catch {
        // Gone already.
      }
    }
  };
  process.once('exit', release);

  if (options.fresh) {
    for (const entry of STATE_ENTRIES) rmSync(join(dir, entry), { recursive: true, force: true });
    notes.push(`--fresh: emptied ${dir} (${STATE_ENTRIES.join(', ')})`);
  }
  return { dir, tookOverFrom, notes, release };
}

function writeMarker(dir: string): void {
  const fd = openSync(join(dir, MARKER), 'w');
  writeSync(fd, `Created by identity-provisioner (npm start) at ${new Date().toISOString()}.\nnpm start --fresh deletes only state directories that hold this file.\n`);
  closeSync(fd);
}
