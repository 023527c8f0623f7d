/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.[tj]sx?$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  // Middy is ESM-only: let ts-jest transform it.
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  testTimeout: 60000,
  // Two workers even on a 2-core machine (jest's default there is one): most of the time of the
  // slow suites is spent waiting on child processes (npm start, the emulator, dynalite), not on
  // CPU. Measured on 2 cores: 412 s with two workers, 666 s with one; both green.
  maxWorkers: 2,
};
