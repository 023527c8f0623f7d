/**
 * How the functions' code is bundled, in one place for the deployed functions (ServiceFunction in
 * lib/provisioner-function.ts, through NodejsFunction) and for the local pipeline and the bench
 * (local/pipeline/bundle-handler.ts, through esbuild's API), so that both build the same code.
 * No CDK import here: the local pipeline reads it too. Why each matters: docs/performance.md.
 */

/**
 * ESM builds before CommonJS ones. The AWS SDK's CommonJS build is one file per client with every
 * command in it, and its @aws-sdk/core carries the browser user-agent parser (bowser); its ESM
 * builds tree-shake to what the adapters call. On platform node esbuild ignores `browser` fields,
 * so the Node runtime configs are the ones picked.
 */
export const BUNDLE_MAIN_FIELDS = ['module', 'main'];

/** The module `zod` resolves to in the bundles, from the repository root (lambdas/shared/zod-bundled.ts says why). */
export const BUNDLED_ZOD = 'lambdas/shared/zod-bundled.ts';

/**
 * Source maps keep names and positions for stack traces, not the sources: with --enable-source-maps
 * Node reads and parses the map at every cold start, and the sources made it three times larger.
 */
export const BUNDLE_SOURCES_CONTENT = false;
