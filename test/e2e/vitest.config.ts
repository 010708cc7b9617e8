// The end-to-end suite: the built web app served by the real Worker (wrangler dev), the real
// livekit-server, and Debian's headless Chromium with fake media devices. Node environment; the
// global setup builds the app and starts both servers once for the whole suite.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    // Projects run one group at a time (core first, browser last): two cores cannot host them all at once.
    sequence: { groupOrder: 5 },
    environment: "node",
    include: ["**/*.test.ts"],
    globalSetup: ["./globalSetup.ts"],
    // Every test fails on a Content-Security-Policy violation in any of its pages.
    setupFiles: ["./csp-guard.ts"],
    // One call at a time on a two-core machine; the tests in a file share one call.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
