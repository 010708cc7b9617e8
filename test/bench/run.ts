// `npm run bench`: the key schedule at scale (issue 6). Starts the real Worker in local workerd, drives
// it with Node clients running the real client core, optionally runs the media part in headless
// Chromium against a real livekit-server, then prints a table and writes latest.json, the README
// table and the lock-out chart. Every server and browser it starts is stopped on exit or Ctrl-C.
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { startCpuHog } from "../chaos/servers";
import { startWorker } from "../support/worker";
import { runAbuseBench } from "./abuse";
import { runChurnBench } from "./churn";
import { parseArgs } from "./cli";
import { describeMachine, machineLine } from "./machine";
import { runMediaBench } from "./media";
import { runRecoveryBench } from "./recovery";
import { runRelayBench } from "./relay";
import { writeReport } from "./render";
import {
  renderAbuseMarkdown,
  renderConsole,
  renderMediaMarkdown,
  renderRecoveryMarkdown,
  renderSignallingMarkdown,
} from "./report";
import {
  type AbuseResult,
  BenchResults,
  type ChurnResult,
  type RecoveryResult,
  type RelayResult,
  type SignallingResult,
} from "./results";
import { runSignallingBench } from "./signalling";
import { hookSignals, onTeardown, teardownAll } from "./teardown";

/** Room sizes and sample counts; --quick keeps the shape with smaller numbers. */
const PLAN = {
  full: {
    sizes: [10, 50, 200],
    cycles: 20,
    relaySeconds: 5,
    churnSeconds: 60,
    churnMembers: 30,
    abuseSeconds: 8,
    recoveryRestarts: 5,
  },
  quick: {
    sizes: [5, 20],
    cycles: 5,
    relaySeconds: 2,
    churnSeconds: 10,
    churnMembers: 12,
    abuseSeconds: 3,
    recoveryRestarts: 2,
  },
} as const;

/** `--abuse-only`: the abuse section alone, written beside (not over) the full results. */
async function abuseOnly(seconds: number, outDir: string, log: (line: string) => void) {
  const abuse = await runAbuseBench({ seconds, log });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}/abuse.json`, `${JSON.stringify(abuse, null, 2)}\n`);
  writeFileSync(`${outDir}/abuse-table.md`, renderAbuseMarkdown(abuse));
  console.log(renderAbuseMarkdown(abuse));
  log(`wrote ${outDir}/abuse.json and abuse-table.md`);
}

/** `--recovery-only`: the recovery section alone, written beside (not over) the full results. */
async function recoveryOnly(restarts: number, outDir: string, log: (line: string) => void) {
  const recovery = await runRecoveryBench({ restarts, log });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}/recovery.json`, `${JSON.stringify(recovery, null, 2)}\n`);
  writeFileSync(`${outDir}/recovery-table.md`, renderRecoveryMarkdown(recovery));
  console.log(renderRecoveryMarkdown(recovery));
  log(`wrote ${outDir}/recovery.json and recovery-table.md`);
}

/** `--media-only`: the media section alone, written beside (not over) the full results. */
async function mediaOnly(quick: boolean, outDir: string, log: (line: string) => void) {
  const loadAtStart = loadavg()[0] ?? 0;
  const media = await runMediaBench({ quick, log });
  mkdirSync(outDir, { recursive: true });
  const generatedAt = new Date().toISOString();
  const loadAverage = { start: loadAtStart, end: loadavg()[0] ?? 0 };
  const json = { generatedAt, machine: describeMachine(), loadAverage, media };
  writeFileSync(`${outDir}/media.json`, `${JSON.stringify(json, null, 2)}\n`);
  const markdown = [
    `Measured on ${machineLine(json.machine)}, ${generatedAt.slice(0, 10)} (1-minute load average ${loadAverage.start.toFixed(1)} at the start, ${loadAverage.end.toFixed(1)} at the end).`,
    "",
    renderMediaMarkdown(media),
  ].join("\n");
  writeFileSync(`${outDir}/media-table.md`, markdown);
  console.log(markdown);
  log(`wrote ${outDir}/media.json and media-table.md`);
}

/** `--signalling-only`: the signalling section alone, written beside (not over) the full results. */
function writeSignallingOnly(
  loadAtStart: number,
  signalling: SignallingResult[],
  failures: string[],
  outDir: string,
  log: (line: string) => void,
) {
  mkdirSync(outDir, { recursive: true });
  const machine = describeMachine();
  const loadAverage = { start: loadAtStart, end: loadavg()[0] ?? 0 };
  const generatedAt = new Date().toISOString();
  const json = { generatedAt, machine, loadAverage, signalling, failures };
  writeFileSync(`${outDir}/signalling.json`, `${JSON.stringify(json, null, 2)}\n`);
  const markdown = [
    `Measured on ${machineLine(machine)}, ${generatedAt.slice(0, 10)} (1-minute load average ${loadAverage.start.toFixed(1)} at the start, ${loadAverage.end.toFixed(1)} at the end).`,
    "",
    renderSignallingMarkdown(signalling),
  ].join("\n");
  writeFileSync(`${outDir}/signalling-table.md`, markdown);
  console.log(markdown);
  for (const failure of failures) console.log(`FAILED ${failure}`);
  log(`wrote ${outDir}/signalling.json and signalling-table.md`);
}

/**
 * Worker vars the bench raises: room capacity for N = 200 and no per-socket or per-recipient rate
 * limit for the relay. The abuse section runs its own Worker with the production limits.
 */
const WORKER_VARS: Record<string, string> = {
  ROOM_CAPACITY: "1000",
  RATE_LIMIT_PER_SECOND: "1000000",
  RATE_LIMIT_BURST: "1000000",
  RATE_LIMIT_STRIKES: "1000000",
  RATE_LIMIT_BYTES_PER_SECOND: "1073741824",
  RATE_LIMIT_BYTES_BURST: "1073741824",
  RECIPIENT_BYTES_PER_SECOND: "1073741824",
  RECIPIENT_BYTES_BURST: "1073741824",
};

async function main(): Promise<void> {
  hookSignals();
  const options = parseArgs(process.argv.slice(2));
  const plan = options.quick ? PLAN.quick : PLAN.full;
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const log = (line: string) =>
    console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);

  if (options.abuseOnly) {
    await abuseOnly(plan.abuseSeconds, options.outDir, log);
    return;
  }
  if (options.recoveryOnly) {
    await recoveryOnly(plan.recoveryRestarts, options.outDir, log);
    return;
  }
  if (options.mediaOnly) {
    await mediaOnly(options.quick, options.outDir, log);
    return;
  }

  log("starting the Worker (wrangler dev, local workerd, from a snapshot of worker/)…");
  const worker = await startWorker({ vars: WORKER_VARS, snapshot: true });
  const stopWorker = onTeardown("wrangler dev", () => worker.stop());

  // A section that fails is reported as failed, with its reason; the others still run.
  const failures: string[] = [];
  const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run();
    } catch (error) {
      const reason = (error as Error).message.split("\n")[0] ?? "unknown error";
      log(`${what} failed: ${reason}`);
      failures.push(`${what}: ${reason}`);
      return null;
    }
  };

  const signalling: SignallingResult[] = [];
  for (const participants of options.sizes ?? plan.sizes) {
    log(
      `signalling, N = ${participants} in ${options.hosts} ${options.hosts === 1 ? "process" : "processes and one for the joiners"}: ${plan.cycles} leaves and ${plan.cycles} joins…`,
    );
    const result = await attempt(`signalling at N = ${participants}`, () =>
      runSignallingBench({
        wsUrl: worker.wsUrl,
        participants,
        cycles: plan.cycles,
        hosts: options.hosts,
        log,
      }),
    );
    if (result) signalling.push(result);
  }
  if (options.signallingOnly) {
    writeSignallingOnly(loadAtStart, signalling, failures, options.outDir, log);
    return;
  }

  log(`relay throughput for ${plan.relaySeconds} s…`);
  const relay: RelayResult | null = await attempt("relay throughput", () =>
    runRelayBench({ wsUrl: worker.wsUrl, participants: 8, seconds: plan.relaySeconds }),
  );

  log(`churn for ${plan.churnSeconds} s…`);
  const churnOptions = {
    wsUrl: worker.wsUrl,
    seconds: plan.churnSeconds,
    targetMembers: plan.churnMembers,
    log,
  };
  const churn: ChurnResult | null = await attempt("churn", () => runChurnBench(churnOptions));
  log(`churn for ${plan.churnSeconds} s again, with a busy process per core beside it…`);
  const churnUnderLoad: ChurnResult | null = await attempt("churn under a CPU hog", async () => {
    const hog = startCpuHog({ maxMs: (plan.churnSeconds + 120) * 1000 });
    try {
      return await runChurnBench(churnOptions);
    } finally {
      await hog.stop();
    }
  });
  await stopWorker();

  log("abuse: an honest round trip in a room of 10, quiet and under each attack…");
  const abuse: AbuseResult | null = await attempt("abuse", () =>
    runAbuseBench({ seconds: plan.abuseSeconds, log }),
  );

  const media = options.media
    ? await runMediaBench({ quick: options.quick, log })
    : {
        measured: false as const,
        reason: options.quick ? "skipped by --quick (add --media)" : "skipped with --no-media",
      };

  const recovery: RecoveryResult | null = options.media
    ? await attempt("recovery", () => runRecoveryBench({ restarts: plan.recoveryRestarts, log }))
    : null;

  const results = BenchResults.parse({
    version: 1,
    generatedAt: new Date().toISOString(),
    command,
    quick: options.quick,
    wallTimeSeconds: (performance.now() - started) / 1000,
    machine: describeMachine(),
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
    workerVars: WORKER_VARS,
    signalling,
    relay,
    churn,
    churnUnderLoad,
    media,
    abuse,
    recovery,
    failures,
  });

  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeReport(results, options.outDir);
  if (options.jsonFile) {
    mkdirSync(dirname(options.jsonFile), { recursive: true });
    writeFileSync(options.jsonFile, json);
  }
  console.log(renderConsole(results));
  log(`wrote ${options.outDir}/latest.json, README-table.md, lockout.svg`);
}

main()
  .catch((error: unknown) => {
    console.error(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exitCode = 1;
  })
  .finally(async () => {
    await teardownAll();
    // Client sockets and timers of the fleets must not keep the process alive after the report.
    process.exit();
  });
