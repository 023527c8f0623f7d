/**
 * The digests of `npm start`'s audit trail, one JSON file per digest in a directory
 * (<stateDir>/audit-digests), named as digestObjectKey names the S3 object: they sort by time.
 * A file is created with flag 'wx', so an existing digest is never overwritten. A file that does
 * not parse, or whose name is not its `to`, is reported as a problem of the store, not a crash.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  DIGEST_FORMAT,
  digestObjectKey,
  digestShapeProblems,
  toOfDigestKey,
  type AuditDigest,
  type DigestStorePort,
  type StoredDigest,
} from '../domain/audit-digest';

/** Where npm start keeps its digests, inside its state directory. */
export const LOCAL_DIGEST_DIR = 'audit-digests';

export class DigestExistsError extends Error {
  constructor(file: string) {
    super(`${file} exists already: a digest is never overwritten`);
    this.name = 'DigestExistsError';
  }
}

export class LocalDigestStore implements DigestStorePort {
  constructor(readonly directory: string) {}

  async latest(): Promise<AuditDigest | undefined> {
    // The newest digest that can be read: a damaged one is verify's to report, not a start to build on.
    const readable = (await this.list()).filter((stored) => digestShapeProblems(stored.digest).length === 0);
    return readable.at(-1)?.digest;
  }

  async put(digest: AuditDigest): Promise<void> {
    mkdirSync(this.directory, { recursive: true });
    const file = this.fileOf(digest);
    try {
      writeFileSync(file, `${JSON.stringify(digest, null, 2)}\n`, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new DigestExistsError(file);
      throw error;
    }
  }

  async list(since?: Date): Promise<StoredDigest[]> {
    let names: string[];
    try {
      names = readdirSync(this.directory).filter((name) => name.endsWith('.json'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const stored = names.map((name) => this.read(name)).sort((a, b) => (a.digest.to < b.digest.to ? -1 : a.digest.to > b.digest.to ? 1 : 0));
    return since === undefined ? stored : stored.filter(({ digest }) => Date.parse(digest.to) > since.getTime());
  }

  private fileOf(digest: Pick<AuditDigest, 'to'>): string {
    return join(this.directory, basename(digestObjectKey(digest)));
  }

  private read(name: string): StoredDigest {
    const location = join(this.directory, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(location, 'utf8'));
    } catch (error) {
      return { digest: unreadable(name), location, problems: [`the file cannot be read as JSON (${(error as Error).message})`] };
    }
    const shape = digestShapeProblems(parsed);
    if (shape.length > 0) return { digest: unreadable(name), location, problems: shape.map((problem) => `it holds no valid digest: ${problem}`) };
    const digest = parsed as AuditDigest;
    const problems = basename(digestObjectKey(digest)) === name ? [] : [`its name is not its window's end (${digest.to}): the file was renamed or its content replaced`];
    return { digest, location, problems };
  }
}

/**
 * Stands for a file that holds no digest: dated by its name so it sorts where it lies, and with no
 * hash or window, so verify's shape check refuses to check records against it.
 */
function unreadable(name: string): AuditDigest {
  return { format: DIGEST_FORMAT, from: '', to: toOfDigestKey(name) ?? '', createdAt: '', previousDigestHash: null, entries: [], digestHash: '' };
}
