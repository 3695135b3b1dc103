/**
 * Tests run TypeScript through swc: fast, no type checking (`npm run
 * typecheck` does that). A few dependencies ship ES modules only (jose,
 * under @knocklabs/node); swc turns those into CommonJS for jest too.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'], '^.+\\.mjs$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!(jose|@middy)/)'],
  testTimeout: 60000,
};
