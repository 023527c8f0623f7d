/**
 * Bundles the consumer handler with esbuild the way NodejsFunction does for the deployed function
 * (one CommonJS file, SDK included, source maps, and the options of lib/bundling.ts), so the local
 * "Lambda" runs the same shape of code and starts as fast as the real one.
 */
import { mkdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { BUNDLE_MAIN_FIELDS, BUNDLE_SOURCES_CONTENT, BUNDLED_ZOD } from '../../lib/bundling';

const ROOT = resolve(__dirname, '../..');
export const HANDLER_ENTRY = resolve(ROOT, 'lambdas/handlers/sqs-consumer.ts');

/** `plugins` let a benchmark swap a module (e.g. the retry strategy) without touching lambdas/. */
export async function bundleHandler(outDir: string, plugins: Plugin[] = []): Promise<FunctionBundle> {
  return bundleFunctionCode(HANDLER_ENTRY, outDir, plugins);
}

export interface FunctionBundle {
  file: string;
  bytes: number;
  /** What went into it, by input file (esbuild's metafile). */
  metafile: Metafile;
}

/** Any module of lambdas/ bundled as the functions are: a test can run bundled code beside the source. */
export async function bundleFunctionCode(entry: string, outDir: string, plugins: Plugin[] = []): Promise<FunctionBundle> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${basename(entry, extname(entry))}.js`);
  const result = await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: BUNDLE_SOURCES_CONTENT,
    mainFields: BUNDLE_MAIN_FIELDS,
    alias: { zod: resolve(ROOT, BUNDLED_ZOD) },
    metafile: true,
    logLevel: 'silent',
    plugins,
  });
  const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs).find((o) => o.endsWith('.js'))!].bytes;
  return { file, bytes, metafile: result.metafile };
}
