/**
 * Which way imports may run, checked by test/infra/dependencies.test.ts (so on every `npm test`).
 * The domain is pure: no AWS SDK, no adapters or handlers; nothing in lambdas/ imports lib/ or
 * local/; and nothing anywhere imports in a circle.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes a module unreadable on its own (the engine and its appliers once imported each other).',
      from: { path: '^(lambdas|lib|local|bin|cli)/' },
      to: { circular: true },
    },
    {
      name: 'domain-without-aws-sdk',
      severity: 'error',
      comment: 'The domain receives its ports as arguments; adapters own the SDK calls.',
      from: { path: '^lambdas/domain/' },
      to: { path: ['@aws-sdk/', '@smithy/', '^lambdas/adapters/', '^lambdas/handlers/', '^node_modules/aws-lambda'] },
    },
    {
      name: 'adapters-not-handlers',
      severity: 'error',
      comment: 'Adapters are wired by the handlers, never the other way round.',
      from: { path: '^lambdas/adapters/' },
      to: { path: '^lambdas/handlers/' },
    },
    {
      name: 'runtime-without-infrastructure-or-stand-ins',
      severity: 'error',
      comment: 'The function bundle must not pull in CDK constructs or the local stand-ins.',
      from: { path: '^lambdas/' },
      to: { path: ['^lib/', '^local/', '^bin/', 'aws-cdk-lib', 'constructs'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|cdk\\.out|test|bench|tools)/' },
  },
};
