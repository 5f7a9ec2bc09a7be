/** Jest runs the TypeScript sources directly (transpile-only: `npm run build` already type-checks everything).
 * Tests that need a real kernel process spawn the compiled `dist/` build, which `npm test` produces first. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  testTimeout: 120000,
  // The kernel and training tests are CPU-heavy; on a 2-core machine running them in parallel only adds noise.
  maxWorkers: 1,
};
