// The web app's logic in Node: no browser, no servers (the tile layout, who the speaker layout
// features, the call store over a fake session and a fake media layer). What needs a browser is in
// test/e2e.
import { defineConfig } from "vitest/config";

export default defineConfig({
  // solid-js resolves to its server build under Node's conditions, where signals do not track and
  // memos never recompute; the stores need the browser build (development: with its warnings).
  // Tests in Node import through Vite's ssr environment, so that is where the conditions go.
  ssr: { resolve: { conditions: ["browser", "development"] } },
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
