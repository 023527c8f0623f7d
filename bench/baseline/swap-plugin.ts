/**
 * An esbuild plugin that swaps one module of the handler bundle for another, so the bench can
 * run the product's handler with a different Identity Store client without touching lambdas/.
 * It counts the swaps: a baseline in which nothing was swapped would silently measure our own
 * code, so the bench refuses to report one.
 */
import { basename, resolve } from 'node:path';
import type { Plugin } from 'esbuild';

export const PRODUCT_CLIENT_MODULE = resolve(__dirname, '../../lambdas/adapters/identity-store-client.ts');
export const BASELINE_CLIENT_MODULE = resolve(__dirname, 'identity-store-client.ts');

const SOURCE_EXTENSIONS = ['', '.ts', '.js'];

/** Whether `importPath`, imported from `resolveDir`, names the file `target`. */
export function importsModule(resolveDir: string, importPath: string, target: string): boolean {
  if (!importPath.startsWith('.') && !importPath.startsWith('/')) return false;
  const candidate = resolve(resolveDir, importPath);
  return SOURCE_EXTENSIONS.some((extension) => candidate + extension === target);
}

export interface ModuleSwap {
  plugin: Plugin;
  /** How many imports were redirected (by the last build). */
  swaps(): number;
}

export function swapModule(target: string, replacement: string): ModuleSwap {
  let swaps = 0;
  const stem = basename(target).replace(/\.[jt]s$/, '');
  const plugin: Plugin = {
    name: `swap-${stem}`,
    setup(build) {
      build.onStart(() => {
        swaps = 0;
      });
      // Only imports that end in the module's name are even looked at.
      build.onResolve({ filter: new RegExp(`${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.[jt]s)?$`) }, (args) => {
        // The replacement may import the original's types; only imports from elsewhere are swapped.
        if (args.importer === replacement || !importsModule(args.resolveDir, args.path, target)) return undefined;
        swaps++;
        return { path: replacement };
      });
    },
  };
  return { plugin, swaps: () => swaps };
}

/** The baseline's swap: our client (RetryAfterSeconds strategy + rate limiter) out, the SDK default in. */
export function swapInBaselineClient(): ModuleSwap {
  return swapModule(PRODUCT_CLIENT_MODULE, BASELINE_CLIENT_MODULE);
}
