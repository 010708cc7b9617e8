// Each test area (test/<area>/vitest.config.ts) is its own Vitest project: worker tests run inside
// workerd, the rest in Node, the end-to-end suite drives Debian's Chromium.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["test/*/vitest.config.ts"],
  },
});
