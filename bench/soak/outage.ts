/**
 * dynalite on disk on a fixed port, so it can be stopped and started again as the same
 * endpoint with the same data: the pipeline sees DynamoDB go away and come back.
 */
import { createServer } from 'node:net';
import { startDynalite, type RunningDynalite } from '../../local/dynalite';

export class RestartableDynalite {
  private running?: RunningDynalite;
  readonly endpoint: string;

  private constructor(
    private readonly path: string,
    private readonly port: number,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  static async start(path: string): Promise<RestartableDynalite> {
    const dynalite = new RestartableDynalite(path, await freePort());
    await dynalite.up();
    return dynalite;
  }

  /** Unavailable for `ms`, then back with the same data; resolves with how long it was really away. */
  async outage(ms: number): Promise<number> {
    const downAt = Date.now();
    await this.down();
    await new Promise((resolve) => setTimeout(resolve, ms));
    await this.up();
    return Date.now() - downAt;
  }

  async stop(): Promise<void> {
    await this.down();
  }

  private async up(): Promise<void> {
    this.running = await startDynalite({ path: this.path, port: this.port });
  }

  private async down(): Promise<void> {
    await this.running?.stop();
    this.running = undefined;
  }
}

/** A port nobody listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
