// Where the browser suite's screenshots go: test-results/screenshots/ (ignored by git) on every run,
// so running the suite leaves the work tree clean. `npm run screenshots` sets
// HUSH_SCREENSHOTS=web/screenshots to refresh the README's images on purpose; a relative path is
// taken from the repository root.
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const SCREENSHOTS = `${resolve(
  fileURLToPath(new URL("../../", import.meta.url)),
  process.env.HUSH_SCREENSHOTS ?? "test-results/screenshots",
)}/`;

/** The path of screenshot `name` (e.g. "call.png"), its directory made if need be. */
export async function screenshotPath(name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return `${SCREENSHOTS}${name}`;
}
