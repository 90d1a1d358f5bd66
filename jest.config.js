/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/__tests__/**/*.test.ts', '**/test/**/*.test.ts'],
  collectCoverageFrom: ['src/destinations/**/*.ts', '!src/destinations/**/__tests__/**'],
  coverageThreshold: {
    'src/destinations/': { lines: 95, branches: 95 }
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', {}]
  }
}
