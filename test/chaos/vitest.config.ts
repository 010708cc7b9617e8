// The chaos suite: real headless Chromium in calls on the real Worker (wrangler dev) and the real
// livekit-server, where the tests kill and restart those servers, crash a browser and take a client
// offline. Each file starts its own servers (servers.ts) on loopback ports it keeps, so a test can
// bring a server back where the clients expect it. Node environment; the global setup only builds
// the web app.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "chaos",
    // After the browser suite: these take the longest and load the machine the most.
    sequence: { groupOrder: 6 },
    environment: "node",
    include: ["**/*.test.ts"],
    globalSetup: ["./globalSetup.ts"],
    // Every test fails on a Content-Security-Policy violation in any of its pages, as in e2e.
    setupFiles: ["../e2e/csp-guard.ts"],
    fileParallelism: false,
    testTimeout: 420_000,
    hookTimeout: 180_000,
  },
});
