import { defineConfig } from 'vitest/config';

// Integration tests spawn real server processes (an ensemble is three): one test file at a
// time keeps a loaded 2-core CI machine from starving nodes into spurious elections.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Rebuilds dist/ when src/ is newer, so spawned server processes run the code under test.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
