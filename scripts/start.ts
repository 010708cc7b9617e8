// `npm start`: the whole local system with one command. Builds the web app, starts the SFU (unless
// LIVEKIT_URL names an existing one) and the Worker (which serves the web app on the same origin),
// waits until each answers, prints one line per part, and stops everything on Ctrl-C. A busy port or a
// part that does not come up ends it with a message and a non-zero status, never a hang.
//
// Environment:
//   LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET  use this SFU instead of starting one
//   LIVEKIT_API_KEY, LIVEKIT_API_SECRET               keys for the local SFU (default devkey/secret)
//   HUSH_VERBOSE=1                                    stream every part's output, prefixed
//   HUSH_PORT=8787                                    the Worker's port (the tests use a free one)
//   HUSH_SKIP_WEB_BUILD=1                             serve web/dist as it is (placeholder if none)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import {
  type ApiKeys,
  ensureLiveKitInstalled,
  localSfuKeys,
  REPO_ROOT,
  readSfuPorts,
  sfuCommand,
  sfuEnvironment,
} from "./local-sfu";
import { busyPorts, type PortNeed } from "./port-check";
import { type Part, startPart, stopAll, waitUntilAnswers } from "./supervisor";

const WORKER_HOST = "127.0.0.1";
const WORKER_PORT = workerPort();

function workerPort(): number {
  const parsed = z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(8787)
    .safeParse(process.env.HUSH_PORT || undefined);
  if (parsed.success) return parsed.data;
  console.error(`error: HUSH_PORT must be a port number (1-65535), not ${process.env.HUSH_PORT}`);
  process.exit(1);
}
const SFU_READY_MS = 30_000;
// wrangler dev bundles the Worker and boots workerd; on a busy 2-core machine that takes a while.
const WORKER_READY_MS = 90_000;
const verbose = process.env.HUSH_VERBOSE === "1";

class StartError extends Error {}

const alongWithUrl = "must be set along with LIVEKIT_URL";
const ExternalSfu = z.object({
  LIVEKIT_URL: z.url({ protocol: /^wss?$/, error: "must be a ws:// or wss:// URL" }),
  LIVEKIT_API_KEY: z.string({ error: alongWithUrl }).min(1, alongWithUrl),
  LIVEKIT_API_SECRET: z.string({ error: alongWithUrl }).min(1, alongWithUrl),
});

interface SfuTarget {
  url: string;
  keys: ApiKeys;
  /** True when we start the SFU ourselves. */
  local: boolean;
}

function chooseSfu(): SfuTarget {
  if (!process.env.LIVEKIT_URL) {
    const ports = readSfuPorts();
    return { url: `ws://127.0.0.1:${ports.signal}`, keys: localSfuKeys(), local: true };
  }
  const parsed = ExternalSfu.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`);
    throw new StartError(`bad LiveKit settings: ${problems.join("; ")}`);
  }
  const env = parsed.data;
  return {
    url: env.LIVEKIT_URL,
    keys: { apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET },
    local: false,
  };
}

async function checkPorts(sfu: SfuTarget): Promise<void> {
  const needs: PortNeed[] = [
    { what: "the Worker", port: WORKER_PORT, protocol: "tcp", host: WORKER_HOST },
  ];
  if (sfu.local) {
    const ports = readSfuPorts();
    needs.push(
      { what: "SFU signalling", port: ports.signal, protocol: "tcp", host: "127.0.0.1" },
      // livekit-server binds its ICE/TCP port on all interfaces, whatever bind_addresses says.
      { what: "SFU ICE/TCP", port: ports.rtcTcp, protocol: "tcp" },
      { what: "SFU ICE/UDP", port: ports.rtcUdp, protocol: "udp", host: "127.0.0.1" },
    );
  }
  const busy = await busyPorts(needs);
  if (busy.length > 0) throw new StartError(busy.join("\n"));
}

const PackageScripts = z.object({ scripts: z.record(z.string(), z.string()).default({}) });

/** Builds the web app, or (before the web app exists) makes sure the placeholder page is there. */
function buildWeb(): void {
  if (process.env.HUSH_SKIP_WEB_BUILD === "1") {
    const wrote = spawnSync("npx", ["tsx", "scripts/ensure-web-dist.ts"], { cwd: REPO_ROOT });
    if (wrote.status !== 0) throw new StartError("scripts/ensure-web-dist.ts failed");
    return;
  }
  const pkg = PackageScripts.parse(
    JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")),
  );
  const [what, command, args] =
    "build:web" in pkg.scripts
      ? ["npm run build:web", "npm", ["run", "--silent", "build:web"]]
      : ["scripts/ensure-web-dist.ts", "npx", ["tsx", "scripts/ensure-web-dist.ts"]];
  process.stdout.write(`building the web app (${what})... `);
  const result = spawnSync(command, args, { cwd: REPO_ROOT, encoding: "utf8" });
  if (result.status !== 0) {
    process.stdout.write("failed\n");
    throw new StartError(`${what} failed:\n${result.stdout ?? ""}${result.stderr ?? ""}`);
  }
  process.stdout.write("done\n");
}

/** An external SFU is not ours to start, but it must answer (livekit-server says "OK" on /). */
async function checkExternalSfu(url: string): Promise<void> {
  const httpUrl = url.replace(/^ws/, "http");
  const deadline = Date.now() + SFU_READY_MS;
  for (;;) {
    const answered = await fetch(httpUrl, { signal: AbortSignal.timeout(5000) })
      .then((response) => response.ok)
      .catch(() => false);
    if (answered) return;
    if (Date.now() > deadline) {
      throw new StartError(
        `the SFU at LIVEKIT_URL (${httpUrl}) did not answer within ${SFU_READY_MS / 1000} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function startSfu(sfu: SfuTarget): Promise<Part | undefined> {
  if (!sfu.local) {
    await checkExternalSfu(sfu.url);
    return undefined;
  }
  if (!ensureLiveKitInstalled()) {
    throw new StartError(
      "no livekit-server to run (see above); or point npm start at an existing SFU with LIVEKIT_URL",
    );
  }
  const { command, args } = sfuCommand();
  const part = startPart("sfu", command, args, {
    cwd: REPO_ROOT,
    env: sfuEnvironment(sfu.keys),
    verbose,
  });
  await ready(part, sfu.url.replace(/^ws/, "http"), SFU_READY_MS);
  return part;
}

/**
 * The Worker gets the SFU's URL and key as --var overrides; the secret goes through a private
 * temporary env file rather than the command line, where any local user could read it with `ps`.
 */
async function startWorker(sfu: SfuTarget): Promise<Part> {
  const secretDir = mkdtempSync(join(tmpdir(), "hush-start-"));
  const envFile = join(secretDir, "worker.env");
  if (/['\n\r]/.test(sfu.keys.apiSecret)) {
    throw new StartError("LIVEKIT_API_SECRET must not contain quotes or line breaks");
  }
  writeFileSync(envFile, `LIVEKIT_API_SECRET='${sfu.keys.apiSecret}'\n`, { mode: 0o600 });
  process.on("exit", () => rmSync(secretDir, { recursive: true, force: true }));

  const wrangler = join(REPO_ROOT, "node_modules", ".bin", "wrangler");
  const part = startPart(
    "worker",
    wrangler,
    [
      "dev",
      "--config",
      "worker/wrangler.jsonc",
      "--ip",
      WORKER_HOST,
      "--port",
      String(WORKER_PORT),
      "--show-interactive-dev-session=false",
      "--var",
      `LIVEKIT_URL:${sfu.url}`,
      "--var",
      `LIVEKIT_API_KEY:${sfu.keys.apiKey}`,
      "--env-file",
      envFile,
    ],
    {
      cwd: REPO_ROOT,
      verbose,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        // Do not fetch the Request.cf placeholder from workers.cloudflare.com on every start.
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
      },
    },
  );
  await ready(part, `http://${WORKER_HOST}:${WORKER_PORT}/v1/health`, WORKER_READY_MS);
  return part;
}

async function ready(part: Part, url: string, timeoutMs: number): Promise<void> {
  try {
    await waitUntilAnswers(part, url, timeoutMs);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const tail = part.tail();
    throw new StartError(`${reason}${tail ? `\nlast output of ${part.name}:\n${tail}` : ""}`);
  }
}

async function main(): Promise<number> {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping...`);
    await stopAll();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  const parts: Part[] = [];
  try {
    const sfu = chooseSfu();
    await checkPorts(sfu);
    buildWeb();
    if (!existsSync(join(REPO_ROOT, "web", "dist", "index.html"))) {
      throw new StartError("the web build produced no web/dist/index.html");
    }
    const sfuPart = await startSfu(sfu);
    if (sfuPart) parts.push(sfuPart);
    const where = sfu.local
      ? "local livekit-server, sfu-config/livekit.yaml"
      : "external, LIVEKIT_URL";
    console.log(`SFU      ${sfu.url}  (${where})`);
    parts.push(await startWorker(sfu));
    console.log(`Worker   http://${WORKER_HOST}:${WORKER_PORT}/v1  (signalling, wrangler dev)`);
    console.log(`Web app  http://${WORKER_HOST}:${WORKER_PORT}/  (open this)`);
    console.log("Ready. Ctrl-C stops everything.");
  } catch (error) {
    if (stopping) return 0;
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    await stopAll();
    return 1;
  }

  // Running until Ctrl-C; if a part dies on its own, say which and take the rest down.
  const [part, how] = await Promise.race(
    parts.map((p) => p.exited.then((how) => [p, how] as const)),
  );
  if (stopping) return 0;
  console.error(`error: ${part.name} ${how}; stopping the rest\n${part.tail()}`);
  await stopAll();
  return 1;
}

process.exitCode = await main();
