/**
 * `npm start`'s progress: one line that fits 80 columns, redrawn in place on a terminal; without
 * one (a pipe, CI), a line every few seconds and the final state exactly once.
 */
import { connect } from 'node:net';

export const PROGRESS_COLUMNS = 80;

export interface ProgressState {
  done: number;
  total: number;
  throttles: number;
  waitedSeconds: number;
}

/** The progress line, at most `columns` characters: the bar shrinks, then goes, before any figure does. */
export function formatProgressLine(state: ProgressState, columns = PROGRESS_COLUMNS): string {
  const { done, total, throttles, waitedSeconds } = state;
  const text = `${done}/${total} events  ${throttles} throttled  ${waitedSeconds.toFixed(1)} s on RetryAfter`;
  const room = columns - text.length - 3; // "[" + bar + "] "
  const width = Math.min(30, room);
  if (width < 10) return text.slice(0, columns);
  const filled = total === 0 ? width : Math.max(0, Math.min(width, Math.round((done / total) * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
}

export function progressReporter(options: { quiet: boolean; interactive?: boolean; write?: (text: string) => void; intervalMs?: number }) {
  const interactive = options.interactive ?? process.stderr.isTTY === true;
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  const intervalMs = options.intervalMs ?? 5000;
  let lastPlainAt = 0;
  let lastPrinted: string | undefined;
  let lastLine: string | undefined;
  let drawnWidth = 0;
  return {
    update(state: ProgressState) {
      if (options.quiet) return;
      const line = formatProgressLine(state);
      lastLine = line;
      if (interactive) {
        write(`\r${line.padEnd(drawnWidth)}`);
        drawnWidth = line.length;
      } else if (Date.now() - lastPlainAt >= intervalMs && line !== lastPrinted) {
        lastPlainAt = Date.now();
        lastPrinted = line;
        write(`${line}\n`);
      }
    },
    /** The final state: on a terminal, ends the line; otherwise prints it, once, unless just printed. */
    end() {
      if (options.quiet) return;
      if (interactive) {
        if (drawnWidth > 0) write('\n');
      } else if (lastLine !== undefined && lastLine !== lastPrinted) {
        lastPrinted = lastLine;
        write(`${lastLine}\n`);
      }
    },
  };
}

/**
 * Whether something listens at a URL's host and port: resolves undefined when a TCP connection
 * opens within `timeoutMs`, else the reason (ECONNREFUSED, a timeout, ...).
 */
export function unreachableReason(url: string, timeoutMs = 3000): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve('not a URL');
  }
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}
