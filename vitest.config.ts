import { defineConfig } from 'vitest/config';

// Two cores: keep parallelism modest. Unhandled rejections fail the run (vitest default,
// kept explicit with dangerouslyIgnoreUnhandledErrors: false).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    dangerouslyIgnoreUnhandledErrors: false,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
