// Once per end-to-end run: build the web app into web/dist, start the real livekit-server and the
// real Worker (which serves web/dist on the same origin as the signalling API), hand their
// addresses to the tests, and stop both afterwards, also when a test failed.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { REPO_ROOT, startLiveKit } from "../support/livekit";
import { startWorker } from "../support/worker";

declare module "vitest" {
  export interface ProvidedContext {
    /** The Worker's origin, serving the app and /v1. */
    origin: string;
    livekit: { url: string; httpUrl: string; apiKey: string; apiSecret: string };
  }
}

/** Newest modification time of the files that go into the web build. */
function newestSource(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestSource(join(path, name))));
}

/**
 * Builds web/dist unless it is newer than every source. Rebuilding rewrites web/dist, and every
 * `wrangler dev` serving it (other suites, a developer's `npm start`) reloads and drops its calls.
 */
export async function buildWebIfStale() {
  const built = join(REPO_ROOT, "web", "dist", "index.html");
  const sources = ["web/src", "web/index.html", "web/vite.config.ts", "protocol"];
  // The placeholder scripts/ensure-web-dist.ts writes has no assets folder: never fresh.
  if (existsSync(built) && existsSync(join(REPO_ROOT, "web", "dist", "assets"))) {
    const newest = Math.max(...sources.map((source) => newestSource(join(REPO_ROOT, source))));
    if (statSync(built).mtimeMs > newest) return;
  }
  await promisify(execFile)("npm", ["run", "build:web"], {
    cwd: REPO_ROOT,
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

export default async function setup(project: TestProject) {
  await buildWebIfStale();
  const livekit = await startLiveKit();
  let worker: Awaited<ReturnType<typeof startWorker>>;
  try {
    worker = await startWorker({
      vars: {
        LIVEKIT_URL: livekit.url,
        LIVEKIT_API_KEY: livekit.apiKey,
        LIVEKIT_API_SECRET: livekit.apiSecret,
      },
    });
  } catch (error) {
    await livekit.stop();
    throw error;
  }
  project.provide("origin", worker.origin);
  project.provide("livekit", {
    url: livekit.url,
    httpUrl: livekit.httpUrl,
    apiKey: livekit.apiKey,
    apiSecret: livekit.apiSecret,
  });
  return async () => {
    await Promise.allSettled([worker.stop(), livekit.stop()]);
  };
}
