// Turns a BenchResults into the two human forms: a plain-text table for the terminal and the
// markdown section the README carries (README-table.md). Pure: results in, text out.
import type { JoinPhase } from "./join-phases";
import { machineLine } from "./machine";
import type {
  AbuseResult,
  BenchResults,
  ChurnResult,
  MediaResult,
  RecoveryResult,
  RecoverySeries,
  SignallingResult,
} from "./results";
import { roundMs } from "./stats";

/** Targets of issue 6: shown beside the figures, never asserted by a timed test. */
export const TARGETS = {
  lockoutP95MsAt50: 500,
  lockoutP95MsAt200: 1_000,
  joinToKeyP95Ms: 150,
  firstFrameP95Ms: 1_500,
  /** Issue 12. */
  lockoutP95MsAt200Harness: 300,
  leaderCpuPerFreshRotationMsAt200: 20,
  e2eeFirstFrameRatio: 1.1,
  e2eeCpuRatio: 1.1,
} as const;

const ms = (value: number) =>
  value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${roundMs(value)} ms`;
const pair = (p: { p50: number; p95: number }) => `${ms(p.p50)} / ${ms(p.p95)}`;
const count = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));

function signallingRows(signalling: readonly SignallingResult[]): string[][] {
  return signalling.map((s) => [
    String(s.participants),
    pair(s.joinToKeyMs),
    pair(s.leaveToCommitMs),
    count(s.envelopesPerJoin),
    `${count(s.envelopesPerLeave)} (n-2 = ${s.details.expectedEnvelopesPerLeave})`,
    setupCell(s),
    String(s.naiveSetupMessages),
  ]);
}

/** The setup count, broken down when anything besides the joiners' own keys was sent. */
function setupCell(s: SignallingResult): string {
  const kinds = s.details.setupByKind;
  const parts = [
    ["fresh", kinds["key-fresh"] ?? 0],
    ["join", kinds["key-ratchet-join"] ?? 0],
    ["re-sent on request", kinds["key-current"] ?? 0],
  ] as const;
  const used = parts.filter(([, count]) => count > 0);
  if (used.length <= 1) return String(s.setupMessages);
  return `${s.setupMessages} (${used.map(([label, count]) => `${count} ${label}`).join(" + ")})`;
}

type CriticalPath = NonNullable<SignallingResult["criticalPath"]>;
type CurveOpCounts = CriticalPath["curveOpsPerLeave"]["all"];

const ops = (o: CurveOpCounts) =>
  [
    [o.x25519SharedSecrets, "X25519"],
    [o.ed25519Signs, "sign"],
    [o.ed25519Verifies, "verify"],
    [o.keyPairs, "key pairs"],
  ]
    .filter(([value]) => value !== 0)
    .map(([value, label]) => `${count(value as number)} ${label}`)
    .join(" + ") || "none";

/**
 * A leave on real devices, p50: the leader's and one member's own CPU, two one-hop deliveries (the
 * leave notice, the last ack) and two fan-outs (the envelopes, the commit).
 */
function leaveEstimate(c: CriticalPath): number {
  return (
    c.leaderCpuPerFreshRotationMs.p50 +
    c.memberCpuPerFreshRotationMs.p50 +
    2 * c.relayOneHopMs.p50 +
    2 * c.relayFanOutMs.p50
  );
}

function criticalPathRows(signalling: readonly SignallingResult[]): string[][] {
  return signalling.flatMap((s) => {
    const c = s.criticalPath;
    if (!c) return [];
    return [
      [
        String(s.participants),
        pair(c.leaderCpuPerFreshRotationMs),
        c.leaderCpuPerRatchetMs ? pair(c.leaderCpuPerRatchetMs) : "–",
        pair(c.leaderCpuPerJoinMs),
        pair(c.memberCpuPerFreshRotationMs),
        pair(c.memberCpuPerJoinMs),
        `${pair(c.relayOneHopMs)}; ${pair(c.relayFanOutMs)}`,
        ms(leaveEstimate(c)),
        `leader ${ops(c.curveOpsPerLeave.leader)}; all ${ops(c.curveOpsPerLeave.all)}`,
        `leader ${ops(c.curveOpsPerJoin.leader)}; all ${ops(c.curveOpsPerJoin.all)}`,
      ],
    ];
  });
}

const CRITICAL_PATH_HEADER = [
  "N",
  "leader CPU / fresh rotation",
  "leader CPU / ratchet",
  "leader CPU / join",
  "member CPU / fresh rotation",
  "member CPU / join",
  "relay one hop; fan-out to n-1",
  "leave on real devices (p50 est.)",
  "curve ops / leave",
  "curve ops / join",
];

const SIGNALLING_HEADER = [
  "N",
  "join → key p50 / p95",
  "leave → commit p50 / p95",
  "envelopes / join",
  "envelopes / leave",
  "key msgs to set up",
  "naive n(n-1)",
];

function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function plainTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function targetChecks(results: BenchResults): string[][] {
  const at = (n: number): SignallingResult | undefined =>
    results.signalling.find((s) => s.participants === n);
  const verdict = (value: number | undefined, limit: number) =>
    value === undefined ? "not measured" : value < limit ? "met" : "missed";
  const rows: string[][] = [];
  const s50 = at(50);
  const s200 = at(200);
  rows.push([
    "lock-out p95 at N = 50",
    `< ${TARGETS.lockoutP95MsAt50} ms`,
    s50 ? ms(s50.leaveToCommitMs.p95) : "–",
    verdict(s50?.leaveToCommitMs.p95, TARGETS.lockoutP95MsAt50),
  ]);
  rows.push([
    "lock-out p95 at N = 200",
    `< ${TARGETS.lockoutP95MsAt200} ms`,
    s200 ? ms(s200.leaveToCommitMs.p95) : "–",
    verdict(s200?.leaveToCommitMs.p95, TARGETS.lockoutP95MsAt200),
  ]);
  rows.push([
    "lock-out p95 at N = 200 (issue 12)",
    `< ${TARGETS.lockoutP95MsAt200Harness} ms`,
    s200 ? ms(s200.leaveToCommitMs.p95) : "–",
    verdict(s200?.leaveToCommitMs.p95, TARGETS.lockoutP95MsAt200Harness),
  ]);
  const cpu200 = s200?.criticalPath?.leaderCpuPerFreshRotationMs.p95;
  rows.push([
    "leader CPU per fresh rotation p95 at N = 200",
    `< ${TARGETS.leaderCpuPerFreshRotationMsAt200} ms`,
    cpu200 === undefined ? "–" : ms(cpu200),
    verdict(cpu200, TARGETS.leaderCpuPerFreshRotationMsAt200),
  ]);
  const worstJoin = results.signalling.length
    ? Math.max(...results.signalling.map((s) => s.joinToKeyMs.p95))
    : undefined;
  rows.push([
    "join → key p95 (worst N)",
    `< ${TARGETS.joinToKeyP95Ms} ms`,
    worstJoin === undefined ? "–" : ms(worstJoin),
    verdict(worstJoin, TARGETS.joinToKeyP95Ms),
  ]);
  const exactJoin = results.signalling.every(
    (s) => s.details.envelopesPerJoinRange.min === 1 && s.details.envelopesPerJoinRange.max === 1,
  );
  const exactLeave = results.signalling.every(
    (s) =>
      s.details.envelopesPerLeaveRange.min === s.details.expectedEnvelopesPerLeave &&
      s.details.envelopesPerLeaveRange.max === s.details.expectedEnvelopesPerLeave,
  );
  rows.push([
    "envelopes per join / leave",
    "exactly 1 / n-2",
    `${exactJoin ? "1" : "not always 1"} / ${exactLeave ? "n-2" : "not always n-2"}`,
    results.signalling.length === 0 ? "not measured" : exactJoin && exactLeave ? "met" : "missed",
  ]);
  const churns = [
    { run: results.churn, label: "" },
    { run: results.churnUnderLoad, label: " under a CPU hog" },
  ].flatMap(({ run, label }) => (run ? [{ run, label }] : []));
  rows.push([
    "churn: moments a member lacks a key in use",
    "0",
    churns.length > 0
      ? churns
          .map(({ run, label }) => `${run.gaps} in ${Math.round(run.seconds)} s${label}`)
          .join("; ")
      : "–",
    churns.length > 0
      ? churns.every(({ run }) => run.gaps === 0)
        ? "met"
        : "missed"
      : "not measured",
  ]);
  const media = results.media;
  rows.push([
    "join → first decrypted frame p95",
    `< ${TARGETS.firstFrameP95Ms} ms`,
    media.measured ? ms(media.joinToFirstFrameMs.p95) : "–",
    media.measured
      ? verdict(media.joinToFirstFrameMs.p95, TARGETS.firstFrameP95Ms)
      : "not measured",
  ]);
  rows.push([
    "decrypt failures across rotations",
    "0",
    media.measured && media.decryptFailures !== null
      ? `${media.decryptFailures} over ${media.rotations} rotations`
      : "–",
    media.measured && media.decryptFailures !== null
      ? media.decryptFailures === 0
        ? "met"
        : "missed"
      : "not measured",
  ]);
  const firstFrame = media.measured && media.firstFrameE2ee?.measured ? media.firstFrameE2ee : null;
  rows.push([
    "join → first frame, E2EE on / off",
    `≤ ${TARGETS.e2eeFirstFrameRatio.toFixed(2)}×`,
    firstFrame?.ratio == null ? "–" : `${firstFrame.ratio.toFixed(2)}×`,
    firstFrame?.ratio == null
      ? "not measured"
      : firstFrame.ratio <= TARGETS.e2eeFirstFrameRatio
        ? "met"
        : "missed",
  ]);
  const cpu = media.measured && media.cpu.measured ? media.cpu : null;
  // The web app's own worker where it was measured (what Hush ships), else livekit's alone.
  const cpuRatio = cpu?.hushWorker ? cpu.hushWorker.ratio : cpu?.ratio;
  rows.push([
    cpu?.hushWorker ? "CPU, E2EE on / off (the web app's worker)" : "CPU, E2EE on / off",
    `≤ ${TARGETS.e2eeCpuRatio.toFixed(2)}×`,
    cpuRatio == null ? "–" : `${cpuRatio.toFixed(2)}×`,
    cpuRatio == null ? "not measured" : cpuRatio <= TARGETS.e2eeCpuRatio ? "met" : "missed",
  ]);
  return rows;
}

/** A client process by what it runs, with its client count: "the leader's", "66 members'". */
function hostName(d: { role: string; clients: number }): string {
  if (d.role === "leader") return "the leader's";
  const noun = d.role === "joiners" ? "joiner" : "member";
  return `${d.clients} ${noun}${d.clients === 1 ? "'s" : "s'"}`;
}

/** How much of each latency was a client process being busy with its clients' crypto. */
function simulationLines(signalling: readonly SignallingResult[]): string[] {
  const parts = signalling
    .filter((s) => s.details.clientEventLoopDelayMs)
    .map((s) => {
      const d = s.details.clientEventLoopDelayMs;
      return `N = ${s.participants}: mean ${ms(d?.mean ?? 0)}, p99 ${ms(d?.p99 ?? 0)}`;
    });
  const perHost = signalling
    .filter((s) => s.details.hostEventLoopDelayMs)
    .map((s) => {
      const hosts = (s.details.hostEventLoopDelayMs ?? []).map(
        (d) => `${hostName(d)} mean ${ms(d.mean)}, p99 ${ms(d.p99)}`,
      );
      return `N = ${s.participants}: ${hosts.join(", ")}`;
    });
  const timeouts = signalling
    .filter((s) => s.details.commitTimeouts > 0)
    .map((s) => `${s.details.commitTimeouts} at N = ${s.participants}`);
  const dropped = signalling
    .filter((s) => s.details.inboundOverflows !== undefined)
    .map((s) => `${s.details.inboundOverflows} at N = ${s.participants}`);
  const lines: string[] = [];
  if (parts.length > 0) {
    lines.push(
      `Event-loop delay of the one process running all N clients during the samples (time an event waited before any client could handle it): ${parts.join("; ")}.`,
    );
  }
  if (perHost.length > 0) {
    lines.push(
      `Event-loop delay of each client process during the samples (time an event waited before any of its clients could handle it, less the 10 ms sampling interval): ${perHost.join("; ")}.`,
    );
  }
  if (dropped.length > 0) {
    lines.push(
      `Signature checks run off the clients' thread (Node's WebCrypto Ed25519); connections given up because more than 4,096 frames waited behind one: ${dropped.join(", ")}.`,
    );
  }
  if (timeouts.length > 0) {
    lines.push(
      `Leaves whose commit barrier gave up waiting for acknowledgements (1.5 s timeout) and committed anyway: ${timeouts.join(", ")}.`,
    );
  }
  return lines.length > 0 ? [lines.join(" "), ""] : [];
}

/** The critical-path table (issue 12), absent for results written before it was measured. */
function criticalPathSection(
  signalling: readonly SignallingResult[],
  table: (rows: string[][]) => string,
): string[] {
  const rows = criticalPathRows(signalling);
  if (rows.length === 0) return [];
  const alone = signalling.some((s) => (s.clientProcesses ?? 1) > 1)
    ? " The leader ran alone in its process, so its figures hold its own GC and nobody else's."
    : "";
  return [
    `**Critical path** (issue 12): what one event costs the devices a real call runs on, free of the other clients sharing a process. CPU is the client's process's CPU time (user + system) while its own socket handlers and timers ran (each runs to completion, one at a time; the process's GC and I/O threads count too, other processes do not).${alone} p50 / p95: the leader from a leave until its commit, in the one call that makes a ratchet, and from a join until its commit; a random other member until it switched. Relay: a unicast between bare clients in a room on the same Worker, and a commit-sized broadcast until the last of n-1 bare receivers has it, probed between the events. The estimate adds the leader's and member's CPU, two one-hop and two fan-out deliveries. Curve operations are the core's own counts (means per event).`,
    "",
    table(rows),
    "",
  ];
}

function relayLine(results: BenchResults): string {
  const r = results.relay;
  if (!r) return "not measured";
  return `${r.payloadsPerSecond.toLocaleString("en-US")} payloads/s (${r.participants} members each sending ${r.payloadBytes}-byte single-payload unicast frames, ${r.delivered.toLocaleString("en-US")} delivered in ${r.seconds.toFixed(1)} s)`;
}

function churnLines(c: ChurnResult | null | undefined): string[] {
  if (!c) return ["not measured"];
  const perMinute = (c.gaps / c.seconds) * 60;
  const gaps =
    c.gaps === 0 || !c.gapMs
      ? "no keyed member ever lacked a key another member was sending with"
      : `${c.gaps} times (${perMinute.toFixed(1)} per minute) a keyed member lacked a key another member was sending with, for ${pair(c.gapMs)} (p50 / p95; longest ${ms(c.gapMs.max)}); ${(c.memberTimeWithoutKey * 100).toFixed(2)} % of member-time; ${c.gapsReceiverBehind} with the receiver behind a newer key, ${c.gapsReceiverAhead} with the receiver having dropped a key a slower sender still used`;
  const joins = c.joinToKeyMs ? `; join → key ${pair(c.joinToKeyMs)}` : "";
  const drops = Object.entries(c.socketDrops)
    .map(([reason, count]) => `${count} × ${reason}`)
    .join(", ");
  return [
    `${c.seconds.toFixed(0)} s of random joins and leaves (${c.joins} joins, ${c.leaves} leaves of which ${c.leaderLeaves} by the key leader, ${c.minMembers}–${c.maxMembers} members${joins}; ${c.commitTimeouts} commits hit the ack timeout${drops ? `; socket drops: ${drops}` : ""}), checked after every key or membership change (${c.checks} checks): ${gaps}.`,
    `Converged at the end: ${c.converged ? "yes" : "NO"} (${c.convergedMembers} members on epoch ${c.finalEpoch ?? "–"}).`,
  ];
}

function mediaLines(m: MediaResult): string[] {
  if (!m.measured) return [`not measured: ${m.reason}`];
  const timeouts = m.firstFrameTimeouts
    ? `, ${m.firstFrameTimeouts} never showed a frame within 30 s`
    : "";
  const failures =
    m.decryptFailures === null
      ? "decrypt failures across rotations not measured (the run stopped first)"
      : `${m.decryptFailures} decrypt failures across ${m.rotations} key rotations (2 s ratchets, leaves and rejoins, counted by the members who stayed)`;
  const lines = [
    `${m.participants} headless Chromium participants in the real web app on a real livekit-server: join → first decrypted frame ${pair(m.joinToFirstFrameMs)} (p50 / p95 over ${m.joinToFirstFrameMs.samples} joiner ↔ member pairs in ${m.joins} joins${timeouts}); ${failures}.${m.incomplete ? ` The run stopped early: ${m.incomplete}.` : ""}`,
  ];
  const phases = m.joinPhasesMs;
  if (phases) {
    const at = (phase: JoinPhase) => {
      const summary = phases[phase];
      return summary ? pair(summary) : "–";
    };
    lines.push(
      `Where a join's time goes (p50 / p95 from the click, over the ${m.joins - 1} joins into a call; livekit's own steps in between): its signalling joined ${at("signallingJoined")}, it held the call's key ${at("firstKey")}, its livekit connected to the SFU ${at("sfuConnected")}, the SFU took its camera ${at("cameraPublished")}; the joiner's livekit subscribed to each member's camera ${at("joinerSubscribed")} and showed its first frame ${at("joinerFirstFrame")}; each member's livekit subscribed to the joiner's camera ${at("memberSubscribed")} and showed its first frame ${at("memberFirstFrame")}.`,
    );
  }
  const r = m.refusedFrames;
  if (r) {
    lines.push(
      `Frames the stayers' guards refused over the same window: ${r.serverInjected} of the SFU's own (its blank frames when a track stops; expected, not failures), ${r.keyNotAllowed} under a key not allowed, ${r.replay} replays, ${r.notDecrypted} not decrypted.`,
    );
  }
  const f = m.firstFrameE2ee;
  if (f && !f.measured)
    lines.push(`Join → first frame with E2EE on vs off: not measured: ${f.reason}.`);
  else if (f) {
    lines.push(
      `Join → first frame with E2EE on vs off (${f.onMs.samples} rounds each, alternating): ${pair(f.onMs)} vs ${pair(f.offMs)}, ratio of medians ${f.ratio === null ? "–" : `${f.ratio.toFixed(2)}×`} (${f.method}).`,
    );
  }
  const c = m.cpu;
  if (!c.measured) lines.push(`CPU with E2EE on vs off: not measured: ${c.reason}.`);
  else {
    const times = (r: number | null) => (r === null ? "–" : `${r.toFixed(2)}×`);
    const windows =
      c.rounds && c.rounds > 1
        ? `the median of ${c.rounds} rounds of a ${c.seconds} s window each, the four calls of a round in turn and each round in a new order`
        : `one ${c.seconds} s window each`;
    lines.push(
      `CPU time with E2EE on vs off (${c.participants} participants, ${windows}): ${Math.round(c.e2eeOnMs)} ms vs ${Math.round(c.e2eeOffMs)} ms, ratio ${times(c.ratio)}; ${c.framesOn} vs ${c.framesOff} video frames decoded, so ${times(c.ratioPerFrame)} per decoded frame (${c.method}).`,
    );
    const r = c.roundsMs;
    if (r && r.off.length > 1) {
      const list = (values: number[]) => values.map((v) => Math.round(v)).join(" / ");
      lines.push(
        `Every round (ms): off ${list(r.off)}; pass-through ${list(r.transform)}; livekit's E2EE ${list(r.e2ee)}; the web app's ${list(r.hush)}.`,
      );
    }
    if (c.byThread && c.byThread.length > 0) {
      const threads = c.byThread.map(
        (t) => `${t.thread} ${Math.round(t.onMs)} vs ${Math.round(t.offMs)} ms`,
      );
      lines.push(
        `Where it goes, by browser thread (on vs off, the threads that differ most; a pool's threads count as one): ${threads.join(", ")}.`,
      );
    }
    const t = c.transformOnly;
    if (t) {
      lines.push(
        `The same call with livekit's encoded transform on every track but a pass-through worker instead of its E2EE worker (no cipher, no livekit frame code): ${Math.round(t.cpuMs)} ms, ratio ${times(c.e2eeOffMs > 0 ? t.cpuMs / c.e2eeOffMs : null)} against off (${t.frames} video frames decoded); its worker thread ${Math.round(t.workerMs)} ms against ${Math.round(t.e2eeWorkerMs)} ms for livekit's E2EE worker. The transform's plumbing (each frame into the worker and back) is what any in-browser frame encryption pays; the rest is livekit's per-frame code and its WebCrypto calls.`,
      );
    }
    const h = c.hushWorker;
    if (h) {
      lines.push(
        `The same call with the web app's own E2EE worker (livekit's frame code inside our frame guard: the E2EE Hush ships, and the figure the target row shows): ${Math.round(h.cpuMs)} ms, ratio ${times(h.ratio)} against off (${h.frames} video frames decoded); its worker thread ${Math.round(h.workerMs)} ms.`,
      );
    }
  }
  return lines;
}

function othersTable(results: BenchResults): string {
  const ours = results.signalling
    .map((s) => `N = ${s.participants}: p95 ${ms(s.leaveToCommitMs.p95)}`)
    .join("; ");
  return markdownTable(
    ["system", "new key in use after a member leaves"],
    [
      ["Hush (this run, commit barrier)", ours || "not measured"],
      ["Element Call", "1 s plus delivery"],
      ["Discord (DAVE)", "about 2 s"],
      ["Signal", "5 s after the leave"],
      ["Jitsi Meet", "waits 5 s"],
      ["Wire (original design)", "up to the next 30 s tick"],
    ],
  );
}

/** Issue 10's targets for the abuse section: shown beside the figures, never asserted by a test. */
export const ABUSE_TARGETS = { ratio: 2, memoryGrowthMB: 32 } as const;

const ABUSE_HEADER = [
  "attack",
  "round trip p50 / p95",
  "ratio to quiet p50 / p95",
  "workerd memory",
];

function abuseRows(abuse: AbuseResult): string[][] {
  const mb = (bytes: number | null) =>
    bytes === null ? "–" : `+${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return [
    ["quiet", pair({ p50: abuse.quiet.p50Ms, p95: abuse.quiet.p95Ms }), "1 / 1", "–"],
    ...abuse.attacks.map((a) => [
      a.lost > 0 ? `${a.attack} (${a.lost} lost)` : a.attack,
      pair({ p50: a.p50Ms, p95: a.p95Ms }),
      `${a.p50Ratio.toFixed(2)} / ${a.p95Ratio.toFixed(2)}`,
      mb(a.memoryGrowthBytes),
    ]),
  ];
}

function abuseVerdict(abuse: AbuseResult): string {
  const worst = Math.max(...abuse.attacks.flatMap((a) => [a.p50Ratio, a.p95Ratio]));
  const memory = Math.max(0, ...abuse.attacks.map((a) => a.memoryGrowthBytes ?? 0)) / 1024 / 1024;
  return `worst ratio ${worst.toFixed(2)} (target < ${ABUSE_TARGETS.ratio}: ${worst < ABUSE_TARGETS.ratio ? "met" : "missed"}), memory growth ${memory.toFixed(1)} MB (target < ${ABUSE_TARGETS.memoryGrowthMB} MB: ${memory < ABUSE_TARGETS.memoryGrowthMB ? "met" : "missed"})`;
}

/** The abuse section as markdown (also written on its own by `npm run bench -- --abuse-only`). */
export function renderAbuseMarkdown(abuse: AbuseResult): string {
  return [
    `**Abuse** (issue 10): an honest member's unicast round trip (sent, echoed at once, received) in a room of ${abuse.roomSize}, sampled for ${abuse.secondsPerPhase} s quiet and then during each attack, against the Worker with its production limits (every client is 127.0.0.1, so the attacker is one client to the per-client upgrade limit; the honest members never reconnect). Attacks: 100,000-item and 200,000-deep frames at 60/s from three strangers; up to 1,500 never-joining sockets each sending junk; a member broadcasting 64 KiB payloads as fast as its socket takes them; a member that stops reading while an accomplice sends it 60 KB unicasts (workerd's resident memory sampled meanwhile). Attackers reconnect whenever the room closes them, 100 ms after a refused upgrade. ${abuseVerdict(abuse)}.`,
    "",
    markdownTable(ABUSE_HEADER, abuseRows(abuse)),
    "",
  ].join("\n");
}

/** Issue 15's targets for the recovery section: shown beside the figures, never asserted by a test. */
export const RECOVERY_TARGETS = { sfuP95Ms: 5_000, workerP95Ms: 3_000 } as const;

const RECOVERY_HEADER = [
  "restarted",
  "down for",
  "answering → every pair decodes p50 / p95",
  "samples",
  "decrypt errors per restart",
  "keyframe requests per restart",
  "stuck",
  "target p95",
  "",
];

function recoveryRows(recovery: RecoveryResult): string[][] {
  const row = (what: string, s: RecoverySeries, target: number) => [
    what,
    ms(s.downMs),
    s.summary ? `${pair(s.summary)} (max ${ms(s.summary.max)})` : "–",
    `${s.recoveredMs.length} of ${s.restarts}`,
    s.decryptErrors.length > 0 ? s.decryptErrors.join(", ") : "–",
    s.keyframeRequests && s.keyframeRequests.length > 0 ? s.keyframeRequests.join(", ") : "–",
    String(s.stuck),
    `< ${ms(target)}`,
    s.summary && s.stuck === 0 && s.summary.p95 < target ? "met" : "missed",
  ];
  return [
    row("SFU (SIGKILL / SIGTERM in turn)", recovery.sfu, RECOVERY_TARGETS.sfuP95Ms),
    row("Worker (SIGKILL, empty Durable Object)", recovery.worker, RECOVERY_TARGETS.workerP95Ms),
    ...(recovery.sfuUnderHog
      ? [
          row(
            "SFU restart under a CPU hog (a busy process per core)",
            recovery.sfuUnderHog,
            RECOVERY_TARGETS.sfuP95Ms,
          ),
        ]
      : []),
  ];
}

/** How much of a Worker restart's figure was the signalling coming back. */
function rejoinLine(worker: RecoverySeries): string[] {
  const rejoined = worker.rejoinedMs ?? [];
  if (rejoined.length === 0) return [];
  return [
    `Of that, every page's signalling was joined again ${rejoined.map(ms).join(", ")} after the Worker answered (the reconnect's share); the rest is the new memberships' keys and media.`,
    "",
  ];
}

/** The recovery section as markdown (also written on its own by `npm run bench -- --recovery-only`). */
export function renderRecoveryMarkdown(recovery: RecoveryResult): string {
  return [
    `**Recovery** (issue 15): a call of ${recovery.participants} headless Chromium participants in the real web app on its own livekit-server and Worker (the chaos suite's, \`test/chaos/\`); each server restarted ${recovery.sfu.restarts} times in one call, and the time from the restarted server first answering its HTTP check until every pair decodes a moving picture again on one epoch with one security code (timed to when the last pair's run of decoded frames began; the pages sample once a second). p95 is the nearest rank, so with 5 samples it is the slowest. Decrypt errors are livekit's failures summed over the pages from the kill until the call converged; keyframe requests are the pages' requests for a stalled video (packets but nothing decoded) in that time; a restart not converged within 2 minutes is stuck.${recovery.loadAverage ? ` 1-minute load average ${recovery.loadAverage.start.toFixed(1)} at the start, ${recovery.loadAverage.end.toFixed(1)} at the end.` : ""}`,
    "",
    markdownTable(RECOVERY_HEADER, recoveryRows(recovery)),
    "",
    ...rejoinLine(recovery.worker),
  ].join("\n");
}

/** "N clients in K processes", from what each room size reported (one process before issue 12). */
function clientsInProcesses(signalling: readonly SignallingResult[]): string {
  const processes = [...new Set(signalling.map((s) => s.clientProcesses ?? 1))];
  const k = processes.join(" or ");
  return `N clients in ${k} ${processes.length === 1 && processes[0] === 1 ? "process" : "processes"}`;
}

/** Where the clients ran, for the bullet list above the signalling table. */
function processesLines(signalling: readonly SignallingResult[]): string[] {
  const spread = signalling.some((s) => (s.clientProcesses ?? 1) > 1);
  if (!spread) {
    return [
      "- All N clients share one Node process and the machine's cores with workerd, so every signature check and",
      "  Diffie-Hellman of the N clients runs in series: the large-N latencies are upper bounds for real devices.",
    ];
  }
  const joiners = signalling.some((s) =>
    s.details.hostEventLoopDelayMs?.some((d) => d.role === "joiners"),
  );
  const spreadOver = joiners
    ? [
        `- ${clientsInProcesses(signalling)}: the key leader alone in the first; the members that set up the call spread`,
        "  over the next ones (each to the one with the fewest); each join sample's joiner in the last, which holds only",
        "  earlier samples' joiners, as a joining device does not also run a third of the call. All share the machine's",
        "  cores with workerd.",
      ]
    : [
        `- ${clientsInProcesses(signalling)}: the key leader alone in the first, the other N-1 spread over the rest (each`,
        "  joiner to the one with the fewest members), all sharing the machine's cores with workerd.",
      ];
  return [
    ...spreadOver,
    "  Each client process still runs its clients' signature checks and Diffie-Hellmans in series, so the large-N",
    "  latencies remain upper bounds for real devices. Times from every process are read on one monotonic clock",
    "  (process.hrtime).",
  ];
}

/** The signalling section alone (written by `npm run bench -- --signalling-only`). */
/** `--media-only`: the media paragraph alone. */
export function renderMediaMarkdown(media: MediaResult): string {
  return `**Media**: ${mediaLines(media).join(" ")}\n`;
}

export function renderSignallingMarkdown(signalling: readonly SignallingResult[]): string {
  return [
    "**Signalling and keys**:",
    "",
    ...processesLines(signalling),
    "",
    markdownTable(SIGNALLING_HEADER, signallingRows(signalling)),
    "",
    ...simulationLines(signalling),
    ...criticalPathSection(signalling, (rows) => markdownTable(CRITICAL_PATH_HEADER, rows)),
  ].join("\n");
}

export function renderMarkdown(results: BenchResults): string {
  const vars = Object.entries(results.workerVars)
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(", ");
  return [
    "<!-- Generated by test/bench/run.ts; do not edit by hand. -->",
    `Measured on ${machineLine(results.machine)}, ${results.generatedAt.slice(0, 10)}, with \`${results.command}\` (wall time ${Math.round(results.wallTimeSeconds)} s${results.quick ? ", reduced set" : ""}; 1-minute load average ${results.loadAverage.start.toFixed(1)} at the start, ${results.loadAverage.end.toFixed(1)} at the end).`,
    "Node clients run the real client core (`web/src/core`, default settings) against the real Worker in local",
    `workerd (\`wrangler dev\`), all on loopback. Worker vars raised for the bench: ${vars || "none"} (room size for N = 200; no per-socket rate limit, so the relay figure is the room's own ceiling).`,
    "",
    "**Signalling and keys**:",
    "",
    "- join → key: from creating the joiner's session (key pairs, socket, join) until it holds the current key. The",
    "  leader rotates at once for a lone join; only events within 200 ms of the previous rotation wait for the next one.",
    "- leave → commit (lock-out): from the leave until every remaining member sends with the fresh key or sends",
    "  nothing (no remaining member sends with a key the leaver holds): n-2 key envelopes, n-2 acknowledgements",
    "  and the signed commit broadcast, or a member's own lock-out deadline.",
    "- envelopes: key envelopes sent by all clients, counted by the core's own metrics (acknowledgements are counted apart",
    '  in latest.json). "key msgs to set up" is counted while the call grew from 1 to N members.',
    ...processesLines(results.signalling),
    "",
    markdownTable(SIGNALLING_HEADER, signallingRows(results.signalling)),
    "",
    ...simulationLines(results.signalling),
    ...criticalPathSection(results.signalling, (rows) => markdownTable(CRITICAL_PATH_HEADER, rows)),
    `**Relay throughput** of one room: ${relayLine(results)}.`,
    "",
    `**Churn**: ${churnLines(results.churn).join(" ")} The same again with a busy process per core beside it (members that handle the leader's messages at very different moments): ${churnLines(results.churnUnderLoad).join(" ")} A member still waiting for its first key counts as joining, not lacking, and keys of epochs that began before a member joined are never its to hold. Its clients all run in one Node process: its checks compare the key bytes every member holds, in memory, after every change.`,
    "",
    `**Media**: ${mediaLines(results.media).join(" ")}`,
    "",
    ...(results.abuse ? [renderAbuseMarkdown(results.abuse)] : []),
    ...(results.recovery ? [renderRecoveryMarkdown(results.recovery)] : []),
    ...(results.failures.length > 0
      ? [`**Failed sections** (no figures): ${results.failures.join("; ")}.`, ""]
      : []),
    "**Targets** (issues 6 and 12; shown by the figures, never asserted by timed tests):",
    "",
    markdownTable(["target", "goal", "measured", ""], targetChecks(results)),
    "",
    "![Lock-out latency against N](test/bench/results/lockout.svg)",
    "",
    "**Compared with published behaviour of others** (as stated in the project's issue 6, not measured here):",
    "",
    othersTable(results),
    "",
    "Per-sender-key designs (each member sends its own key to every other) need n(n-1) key messages per rotation:",
    "90 for ten people, 39,800 for 200. Here one key leader sends 1 envelope per join, n-2 per leave and none for a",
    'periodic ratchet, so setting up a call costs n-1 (the "key msgs to set up" column, counted, not computed).',
    "",
  ].join("\n");
}

export function renderConsole(results: BenchResults): string {
  return [
    "",
    `Machine: ${machineLine(results.machine)}; load average ${results.loadAverage.start.toFixed(1)} → ${results.loadAverage.end.toFixed(1)}`,
    `Command: ${results.command}   wall time ${results.wallTimeSeconds.toFixed(1)} s`,
    "",
    `Signalling and keys (${clientsInProcesses(results.signalling)})`,
    plainTable(SIGNALLING_HEADER, signallingRows(results.signalling)),
    "",
    ...criticalPathSection(results.signalling, (rows) => plainTable(CRITICAL_PATH_HEADER, rows)),
    `Relay: ${relayLine(results)}`,
    `Churn: ${churnLines(results.churn).join("\n       ")}`,
    `Churn under a CPU hog: ${churnLines(results.churnUnderLoad).join("\n       ")}`,
    `Media: ${mediaLines(results.media).join("\n       ")}`,
    ...(results.abuse
      ? [
          "",
          `Abuse (room of ${results.abuse.roomSize}): ${abuseVerdict(results.abuse)}`,
          plainTable(ABUSE_HEADER, abuseRows(results.abuse)),
        ]
      : []),
    ...(results.recovery
      ? ["", "Recovery", plainTable(RECOVERY_HEADER, recoveryRows(results.recovery))]
      : []),
    ...results.failures.map((failure) => `FAILED ${failure}`),
    "",
    "Targets",
    plainTable(["target", "goal", "measured", ""], targetChecks(results)),
    "",
  ].join("\n");
}
