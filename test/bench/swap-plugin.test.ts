import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  BASELINE_CLIENT_MODULE,
  PRODUCT_CLIENT_MODULE,
  importsModule,
  swapInBaselineClient,
} from '../../bench/baseline/swap-plugin';
import { RATE_LIMITER_MIDDLEWARE_NAME } from '../../lambdas/adapters/identity-store-client';
import { bundleHandler } from '../../local/pipeline/bundle-handler';

describe('the baseline swap plugin', () => {
  const handlers = resolve(__dirname, '../../lambdas/handlers');

  it('recognises the product client whichever way it is imported, and nothing else', () => {
    expect(importsModule(handlers, '../adapters/identity-store-client', PRODUCT_CLIENT_MODULE)).toBe(true);
    expect(importsModule(handlers, '../adapters/identity-store-client.ts', PRODUCT_CLIENT_MODULE)).toBe(true);
    expect(importsModule(handlers, '../adapters/identity-store', PRODUCT_CLIENT_MODULE)).toBe(false);
    expect(importsModule(handlers, 'identity-store-client', PRODUCT_CLIENT_MODULE)).toBe(false);
  });

  it('puts the SDK-default client into the real handler bundle in place of ours', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'bench-swap-test-'));
    try {
      const swap = swapInBaselineClient();
      const swapped = await bundleHandler(join(outDir, 'baseline'), [swap.plugin]);
      const ours = await bundleHandler(join(outDir, 'ours'));
      expect(swap.swaps()).toBe(1);
      // The rate limiter middleware's name is a string literal only our client registers.
      expect(readFileSync(ours.file, 'utf8')).toContain(RATE_LIMITER_MIDDLEWARE_NAME);
      expect(readFileSync(swapped.file, 'utf8')).not.toContain(RATE_LIMITER_MIDDLEWARE_NAME);
      expect(BASELINE_CLIENT_MODULE).toMatch(/bench\/baseline\/identity-store-client\.ts$/);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
