import { defineConfig } from "vitest/config";

// The browser end-to-end test (scripts/e2e-web starts what it drives).
export default defineConfig({
  test: {
    environment: "node",
    include: ["e2e/**/*.e2e.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // A function's first call under cargo lambda watch starts its process.
    expect: { poll: { timeout: 15_000, interval: 100 } },
  },
});
