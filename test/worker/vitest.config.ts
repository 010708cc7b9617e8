// Worker tests run inside workerd through @cloudflare/vitest-pool-workers: the real runtime, real
// Durable Objects with hibernatable WebSockets and SQLite storage, driven through the Worker's fetch.
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: fileURLToPath(new URL("./wrangler.test.jsonc", import.meta.url)) },
    }),
  ],
  test: {
    name: "worker",
    // Projects run one group at a time (core first, browser last): two cores cannot host them all at once.
    sequence: { groupOrder: 1 },
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
