// `wrangler dev` refuses to start when the assets directory (web/dist) is missing, but the Worker
// must run on a fresh clone before anyone builds the web app. This writes a one-page placeholder,
// and only when web/dist does not exist at all, so a real build is never overwritten.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const WEB_DIST = resolve(dirname(fileURLToPath(import.meta.url)), "..", "web", "dist");

const PLACEHOLDER = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Hush</title>
<p>The web app is not built yet. Run <code>npm run build:web</code>, then reload.</p>
<p>The signalling API is live under <code>/v1/</code>; see docs/protocol.md in the repository.</p>
</html>
`;

/** Returns true when it wrote the placeholder. */
export function ensureWebDist(dir: string = WEB_DIST): boolean {
  if (existsSync(dir)) return false;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "index.html"), PLACEHOLDER);
  return true;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (ensureWebDist()) console.log(`wrote a placeholder ${join(WEB_DIST, "index.html")}`);
}
