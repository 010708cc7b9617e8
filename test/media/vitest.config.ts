// The media path in Node: the pure key plan, and our E2EE worker wrapped around livekit-client's
// real worker code (fake worker global, fake encoded frames; web streams and WebCrypto are Node's).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "media",
    // Projects run one group at a time (core first, browser last): this one is light and pure
    // Node, so it shares the first group with core.
    sequence: { groupOrder: 0 },
    environment: "node",
    include: ["**/*.test.ts"],
    testTimeout: 30_000,
  },
});
