/**
 * The members of `z` inside the function bundles (lambdas/shared/zod-bundled.ts says why): zod's
 * own classic API, every export but those below.
 */
// A relative path, not 'zod/...': the bundles' alias maps every 'zod' import, subpaths too, to zod-bundled.ts.
export * from '../../node_modules/zod/v4/classic/external.js';

/** Left out (a local export hides the same name of `export *`): namespaces esbuild keeps whole. */
export const core = undefined;
export const locales = undefined;

function leftOut(name: string): () => never {
  return () => {
    throw new Error(`zod's ${name} is not in the function bundle (lambdas/shared/zod-bundled-api.ts)`);
  };
}
/** Left out: tools nothing in the functions calls (the JSON Schema is written outside them; compile() is opt-in). */
export const toJSONSchema = leftOut('toJSONSchema');
export const fromJSONSchema = leftOut('fromJSONSchema');
export const compile = leftOut('compile');
