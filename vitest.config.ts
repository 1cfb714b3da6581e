import { defineConfig } from 'vitest/config';

// Integration tests spawn real server processes: keep parallelism to the 2 cores CI has.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Rebuilds dist/ when src/ is newer, so spawned server processes run the code under test.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
