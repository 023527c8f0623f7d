/**
 * Bundles the consumer handler with esbuild the way NodejsFunction does for the deployed function
 * (one CommonJS file, SDK included, source maps), so the local "Lambda" runs the same shape of
 * code and starts as fast as the real one.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

export const HANDLER_ENTRY = resolve(__dirname, '../../lambdas/handlers/sqs-consumer.ts');

/** `plugins` let a benchmark swap a module (e.g. the retry strategy) without touching lambdas/. */
export async function bundleHandler(outDir: string, plugins: Plugin[] = []): Promise<{ file: string; bytes: number }> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'sqs-consumer.js');
  const result = await build({
    entryPoints: [HANDLER_ENTRY],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: 'silent',
    plugins,
  });
  const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs).find((o) => o.endsWith('.js'))!].bytes;
  return { file, bytes };
}
