/**
 * Two projects. `destination` runs the destination's folder with the monorepo's jest settings
 * (packages/destination-actions/package.json), so green here means green there: jest 27 with ts-jest 27 in
 * isolatedModules, every `.ts` under `__tests__/` a suite except under `__tests__/__helpers__/`, and the monorepo's
 * nock setup after the environment. `tools` runs this repository's own tests the same way, in an environment with
 * Node's fetch. jest 27 does not read package `exports`, hence the subpath mapping.
 */
const shared = {
  preset: 'ts-jest',
  globals: { 'ts-jest': { isolatedModules: true } },
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  moduleNameMapper: {
    '^@segment/actions-core/(destination-kit|mapping-kit)/(.*)$':
      '<rootDir>/node_modules/@segment/actions-core/dist/cjs/$1/$2'
  },
  setupFilesAfterEnv: ['<rootDir>/test/setup-after-env.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '__tests__/__helpers__/', '<rootDir>/test/support/']
}

/** @type {import('@jest/types').Config.InitialOptions} */
module.exports = {
  projects: [
    { ...shared, displayName: 'destination', testEnvironment: 'node', roots: ['<rootDir>/src'] },
    {
      ...shared,
      displayName: 'tools',
      testEnvironment: '<rootDir>/test/support/node-with-fetch.js',
      // examples/ holds a customer's test, importing this package by its name as a customer's project would.
      roots: ['<rootDir>/test', '<rootDir>/examples'],
      moduleNameMapper: {
        ...shared.moduleNameMapper,
        '^koala-cloud-destination$': '<rootDir>/src/cli/lib/start-local.ts'
      }
    }
  ],
  collectCoverageFrom: ['src/destinations/**/*.ts', '!src/destinations/**/__tests__/**'],
  coverageThreshold: {
    'src/destinations/': { lines: 95, branches: 95 }
  }
}
