/**
 * The function bundle as lib/bundling.ts shapes it (for the deployed functions and the local
 * pipeline alike): what goes in, and that the bundled code reads events exactly as the source does.
 * `zod` is aliased to lambdas/shared/zod-bundled.ts in the bundle only, so the second part is what
 * proves the alias changes no validation and no message.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { badInputBody, loadBadInputCorpus } from '../../bench/soak/bad-input';
import * as sourceParse from '../../lambdas/domain/parse-event';
import { bundleFunctionCode, bundleHandler } from '../../local/pipeline/bundle-handler';
import { BUS_ORIGIN, envelopeOf, fullGrantBusProducer, fullGrantQueueProducer, TEST_ORIGIN } from '../support/producers';

jest.setTimeout(120_000);

const outDir = mkdtempSync(join(tmpdir(), 'function-bundle-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** The input files with code in the output (esbuild lists the ones tree-shaking dropped too, at 0 bytes). */
const inputsOf = (metafile: Metafile) =>
  Object.values(metafile.outputs).flatMap((output) => Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path));

describe('the consumer bundle', () => {
  let bundle: Awaited<ReturnType<typeof bundleHandler>>;
  beforeAll(async () => {
    bundle = await bundleHandler(join(outDir, 'consumer'));
  });

  it("carries zod's English messages only, and none of its JSON Schema conversion", () => {
    const zod = inputsOf(bundle.metafile).filter((path) => path.includes('node_modules/zod/'));
    expect(zod).toContain('node_modules/zod/v4/locales/en.js');
    expect(zod.filter((path) => path.includes('/locales/'))).toEqual(['node_modules/zod/v4/locales/en.js']);
    expect(zod.filter((path) => path.includes('from-json-schema'))).toEqual([]);
  });

  it("takes the AWS SDK's ESM builds, without the browser user-agent parser", () => {
    const inputs = inputsOf(bundle.metafile);
    expect(inputs.some((path) => path.startsWith('node_modules/@aws-sdk/client-dynamodb/dist-es/'))).toBe(true);
    expect(inputs.filter((path) => /^node_modules\/@aws-sdk\/client-[a-z]+\/dist-cjs\//.test(path))).toEqual([]);
    expect(inputs.filter((path) => path.startsWith('node_modules/bowser/'))).toEqual([]);
  });

  it('has a source map with positions and names but not the sources', () => {
    const map = JSON.parse(readFileSync(`${bundle.file}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sources.some((source) => source.endsWith('lambdas/handlers/sqs-consumer.ts'))).toBe(true);
    expect(map.sourcesContent).toBeUndefined();
  });
});

describe('the bundled record reader', () => {
  const queueProducers = [fullGrantQueueProducer()];
  const busProducers = [fullGrantBusProducer()];
  let bundled: typeof sourceParse;
  beforeAll(async () => {
    const { file } = await bundleFunctionCode(resolve(__dirname, '../../lambdas/domain/parse-event.ts'), join(outDir, 'parse-event'));
    bundled = jest.requireActual<typeof sourceParse>(file);
  });

  const valid = {
    id: 'bundle-1',
    type: 'user.upserted',
    occurredAt: '2026-03-01T10:00:00Z',
    actor: 'hr',
    data: { user: { UserName: 'ada', DisplayName: 'Ada L', Name: { GivenName: 'Ada', FamilyName: 'L' } }, groups: ['Everyone'] },
  };

  it('reads every bad-input message as the source does: the same refusal, the same words', () => {
    const corpus = loadBadInputCorpus();
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    for (const badCase of corpus) {
      const body = badInputBody(badCase);
      for (const [origin, producers] of [
        [TEST_ORIGIN, queueProducers],
        [BUS_ORIGIN, busProducers],
      ] as const) {
        const ours = bundled.readDelivery(body, origin, producers);
        expect(ours).toEqual(sourceParse.readDelivery(body, origin, producers));
      }
    }
  });

  it("refuses a broken EventBridge envelope through Powertools' schema with the same message", () => {
    const body = JSON.stringify({ ...envelopeOf(valid), time: 'yesterday' });
    const ours = bundled.readDelivery(body, BUS_ORIGIN, busProducers);
    expect(ours).toMatchObject({ kind: 'refused', failure: { code: 'INVALID_ENVELOPE' } });
    expect(ours).toEqual(sourceParse.readDelivery(body, BUS_ORIGIN, busProducers));
  });

  it('accepts a valid change, bare and enveloped, as the source does', () => {
    const bare = bundled.readDelivery(JSON.stringify(valid), TEST_ORIGIN, queueProducers);
    expect(bare.kind).toBe('change');
    expect(bare).toEqual(sourceParse.readDelivery(JSON.stringify(valid), TEST_ORIGIN, queueProducers));
    const enveloped = JSON.stringify(envelopeOf(valid));
    expect(bundled.readDelivery(enveloped, BUS_ORIGIN, busProducers)).toMatchObject({ kind: 'change' });
    expect(bundled.readDelivery(enveloped, BUS_ORIGIN, busProducers)).toEqual(sourceParse.readDelivery(enveloped, BUS_ORIGIN, busProducers));
  });
});
