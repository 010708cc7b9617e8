// Several Node CallSessions (the same core the browser runs) against the real Worker under
// `wrangler dev` (local workerd) over loopback. Starts a real process, so generous timeouts.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "integration",
    environment: "node",
    include: ["**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
