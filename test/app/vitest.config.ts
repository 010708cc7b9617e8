// The web app's pure logic in Node: no browser, no servers (the tile layout, who the speaker
// layout features). What needs a browser is in test/e2e.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "app",
    // Projects run one group at a time (core first, browser last): this one is light and pure
    // Node, so it shares the first group with core.
    sequence: { groupOrder: 0 },
    environment: "node",
    include: ["**/*.test.ts"],
    testTimeout: 30_000,
  },
});
