// Protocol conformance: the real Worker under `wrangler dev` (what `npm run dev:worker` runs), driven
// over loopback by a small client written from docs/protocol.md alone.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "protocol",
    // Projects run one group at a time (core first, browser last): two cores cannot host them all at once.
    sequence: { groupOrder: 2 },
    environment: "node",
    include: ["**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
