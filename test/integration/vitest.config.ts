// Several Node CallSessions (the same core the browser runs) against the real Worker under
// `wrangler dev` (local workerd) over loopback. Starts a real process, so generous timeouts.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "integration",
    // Projects run one group at a time (core first, browser last): two cores cannot host them all at once.
    sequence: { groupOrder: 3 },
    environment: "node",
    include: ["**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
