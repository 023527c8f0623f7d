/**
 * State file: loaded at start, written atomically (tmp + rename) shortly after writes
 * (debounced) and once more on stop, so a local run keeps its identity store.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoreSnapshot } from './store';

export const SAVE_DEBOUNCE_MS = 100;

export function loadSnapshot(path: string): StoreSnapshot | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as StoreSnapshot;
  if (parsed.version !== 1 || typeof parsed.identityStores !== 'object')
    throw new Error(`${path} is not an identity store emulator state file (version 1)`);
  return parsed;
}

export class StateSaver {
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private counter = 0;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => StoreSnapshot,
  ) {}

  /** Schedule a save; many writes in a burst produce one file write. */
  markDirty(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((error: unknown) => console.error(`identitystore emulator: saving ${this.path} failed`, error));
    }, SAVE_DEBOUNCE_MS);
    this.timer.unref();
  }

  /** Write now (after any write in progress), cancelling a pending debounce. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const data = JSON.stringify(this.snapshot());
    this.writing = this.writing.catch(() => undefined).then(() => this.writeAtomically(data));
    return this.writing;
  }

  private async writeAtomically(data: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.${++this.counter}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, this.path);
  }
}
