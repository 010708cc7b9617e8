// SFU tests run in Node against the real livekit-server (and Redis for the multi-node case). They
// start real processes, so they get generous timeouts and run one file at a time on this 2-core box.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "sfu",
    // Projects run one group at a time (core first, browser last): two cores cannot host them all at once.
    sequence: { groupOrder: 4 },
    environment: "node",
    include: ["**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // @livekit/rtc-node logs at debug level unless NODE_ENV is "production"; keep test output readable.
    env: { NODE_ENV: "production" },
  },
});
