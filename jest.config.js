// Five tiers by file suffix (see STYLE.md): unit specs do no I/O; int and e2e specs talk to the real
// Kafka and MongoDB-wire servers that scripts/test.sh provisions (or testcontainers, where Docker runs).
const moduleNameMapper = {
  '^@app/(domain|contracts|event-store|release-store|platform|helm|test-support)$': '<rootDir>/libs/$1/src',
};
const base = {
  rootDir: __dirname,
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  testEnvironment: 'node',
  moduleNameMapper,
};
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.unit.spec.ts'] },
    {
      ...base,
      displayName: 'int',
      setupFilesAfterEnv: ['<rootDir>/libs/test-support/src/jest-int-setup.ts'],
      testMatch: ['<rootDir>/{apps,libs,test}/**/*.int.spec.ts'],
      globalSetup: '<rootDir>/libs/test-support/src/global-setup.ts',
      globalTeardown: '<rootDir>/libs/test-support/src/global-teardown.ts',
    },
    {
      ...base,
      displayName: 'e2e',
      setupFilesAfterEnv: ['<rootDir>/libs/test-support/src/jest-int-setup.ts'],
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/libs/test-support/src/global-setup.ts',
      globalTeardown: '<rootDir>/libs/test-support/src/global-teardown.ts',
    },
    {
      ...base,
      displayName: 'browser',
      setupFilesAfterEnv: ['<rootDir>/libs/test-support/src/jest-int-setup.ts'],
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      globalSetup: '<rootDir>/libs/test-support/src/global-setup.ts',
      globalTeardown: '<rootDir>/libs/test-support/src/global-teardown.ts',
    },
    {
      ...base,
      displayName: 'faults',
      setupFilesAfterEnv: ['<rootDir>/libs/test-support/src/jest-int-setup.ts'],
      testMatch: ['<rootDir>/test/faults/**/*.faults-spec.ts'],
      globalSetup: '<rootDir>/libs/test-support/src/global-setup.ts',
      globalTeardown: '<rootDir>/libs/test-support/src/global-teardown.ts',
    },
  ],
};
