// The client crypto core: derivation vectors, property tests and the deterministic simulator. Pure
// Node, no servers; property runs are bounded so the whole project stays well under two minutes.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "core",
    // Projects run one group at a time (core first, browser last): two cores cannot host them all at once.
    sequence: { groupOrder: 0 },
    environment: "node",
    include: ["**/*.test.ts"],
    testTimeout: 60_000,
  },
});
