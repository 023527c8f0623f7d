/**
 * What `import ... from 'zod'` is inside the function bundles (the esbuild alias of lib/bundling.ts;
 * tests, tsc and the CLIs use zod itself): zod's own classic API, minus the exports the functions
 * never call and esbuild cannot drop (zod-bundled-api.ts).
 *
 * Why: Powertools' parser schemas (and our own files) `import { z } from 'zod'`, a namespace
 * imported by name, which esbuild keeps whole: with it came every locale zod ships, JSON Schema
 * conversion and the schema compiler, 320 of zod's 455 KB in the bundle, all of it parsed at
 * every cold start. This `z` is the namespace of zod-bundled-api.ts instead, so it holds only what
 * is left there. Validation and messages are zod's own: English is the locale zod registers
 * itself, from its schemas, not through `locales`.
 */
import * as z from './zod-bundled-api';

export * from './zod-bundled-api';
export { z, z as default };
