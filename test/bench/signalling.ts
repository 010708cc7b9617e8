// The signalling and key benchmark for one room size N (issue 6): grow a call to N members, then
// alternate leaves and joins so every sample is taken at the same size, measuring
//   join → key:     from creating the joiner's session until it holds the current key;
//   leave → commit: from the leave until every remaining member sends with the fresh key;
// and counting the envelopes every client sent for each event from the core's own metrics. The N
// clients run in several host processes (hosted-fleet.ts), the key leader alone in one. Beside the
// latencies, the critical path a real call would see, free of the other clients sharing a process:
// the leader's and one member's CPU time in their own handlers per event (handler-cpu.ts), the curve
// operations per event, and the relay's one hop and fan-out on the same Worker (relay-probe.ts).

import type { CurveOps } from "../../web/src/core/index";
import {
  type CommitRecord,
  type Counts,
  describeCall,
  diffCounts,
  diffCurveOps,
  keyEnvelopes,
  sleep,
  waitFor,
} from "./fleet";
import { HostedFleet, type HostedMember } from "./hosted-fleet";
import { RelayProbe, type RelaySample } from "./relay-probe";
import type { SignallingResult } from "./results";
import { summarize } from "./stats";

export interface SignallingOptions {
  wsUrl: (roomId: string) => string;
  participants: number;
  /** Leave + join cycles: this many samples of each. */
  cycles: number;
  /** Host processes the N clients run in (the leader alone in the first): at least 1. */
  hosts: number;
  log: (line: string) => void;
}

/** Pause between events so that two events are never coalesced into one rotation (200 ms window). */
const GAP_MS = 250;
/** Bounds for one event; generous, since the N clients share two cores with workerd. */
const eventTimeoutMs = (n: number) => 15_000 + n * 100;

export async function runSignallingBench(opts: SignallingOptions): Promise<SignallingResult> {
  const n = opts.participants;
  if (n < 3) throw new Error("the signalling bench needs at least 3 participants");
  const fleet = await HostedFleet.start(opts.wsUrl, opts.hosts);
  let relay: RelayProbe | undefined;
  try {
    // ---- set up the call: 1 → N members ----
    const setupStart = performance.now();
    const before = await fleet.counts();
    const admitMs = 30_000 + n * 300;
    await fleet.join({ timeoutMs: admitMs });
    // People join one after another, each as soon as the previous one is admitted (not keyed), so
    // bursts get coalesced as in a real call filling up; each join still costs 1 envelope.
    while (fleet.members().length < n) await fleet.join({ timeoutMs: admitMs });
    const settled = await waitFor(
      () => fleet.members().every((m) => m.firstKeyAt !== undefined) && fleet.converged().converged,
      30_000 + n * 200,
      20,
    );
    if (!settled) {
      throw new Error(`the call did not converge after setup (${describeCall(fleet)})`);
    }
    await sleep(GAP_MS);
    const setup = diffCounts(await fleet.counts(), before);
    const setupSeconds = (performance.now() - setupStart) / 1000;
    opts.log(
      `  set up ${n} members in ${fleet.hostCount} processes in ${setupSeconds.toFixed(1)} s: ${JSON.stringify(setup)}`,
    );
    // A commit reaches the n-1 others; the probe's room has as many receivers.
    const probe = await RelayProbe.open(opts.wsUrl, n - 1);
    relay = probe;

    // ---- cycles: leave (N → N-1), then join (N-1 → N) ----
    // How long events waited for each host's one thread: the share of each latency that is the
    // simulation, not the protocol.
    await fleet.loopDelay("start");
    const joinMs: number[] = [];
    const leaveMs: number[] = [];
    const joinCounts: Counts[] = [];
    const leaveCounts: Counts[] = [];
    const leaves: LeaveSample[] = [];
    const joins: JoinSample[] = [];
    const relaySamples: RelaySample[] = [];
    // A probe that times out is a missing sample of the relay, not a failure of the call's figures;
    // the report counts the samples taken.
    const sampleRelay = async () => {
      try {
        relaySamples.push(await probe.sample());
      } catch (error) {
        opts.log(`  relay probe: ${(error as Error).message}`);
      }
    };
    const cyclesStart = performance.now();
    let commitTimeouts = 0;
    for (let cycle = 0; cycle < opts.cycles; cycle++) {
      const leave = await measureLeave(fleet);
      leaveMs.push(leave.ms);
      leaveCounts.push(leave.counts);
      leaves.push(leave);
      if (leave.commitTimedOut) commitTimeouts++;
      // Probed between events, when the fleet is quiet, so the figure is the relay's own.
      await sampleRelay();
      await sleep(GAP_MS);
      const join = await measureJoin(fleet);
      joinMs.push(join.ms);
      joinCounts.push(join.counts);
      joins.push(join);
      await sampleRelay();
      await sleep(GAP_MS);
    }
    const loopDelays = await fleet.loopDelay("stop");
    const inboundOverflows =
      (await fleet.counts())["inbound-overflows"] - before["inbound-overflows"];
    const ratchetCallMs = ratchetCalls(fleet, cyclesStart);
    const perJoin = joinCounts.map(keyEnvelopes);
    const perLeave = leaveCounts.map(keyEnvelopes);
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const sumOf = (list: Counts[], pick: (c: Counts) => number) => mean(list.map(pick));
    const join = summarize(joinMs);
    const leave = summarize(leaveMs);
    opts.log(
      `  join → key p50 ${join.p50.toFixed(0)} ms, p95 ${join.p95.toFixed(0)} ms; leave → commit p50 ${leave.p50.toFixed(0)} ms, p95 ${leave.p95.toFixed(0)} ms${commitTimeouts ? `; ${commitTimeouts} commits hit the ack timeout` : ""}`,
    );
    const criticalPath = {
      leaderCpuPerFreshRotationMs: summarize(leaves.map((s) => s.leaderCpuMs)),
      leaderCpuPerRatchetMs: ratchetCallMs.length > 0 ? summarize(ratchetCallMs) : null,
      leaderCpuPerJoinMs: summarize(joins.map((s) => s.leaderCpuMs)),
      memberCpuPerFreshRotationMs: summarize(leaves.map((s) => s.memberCpuMs)),
      memberCpuPerJoinMs: summarize(joins.map((s) => s.memberCpuMs)),
      relayOneHopMs: summarize(relaySamples.map((s) => s.oneHopMs)),
      relayFanOutMs: summarize(relaySamples.map((s) => s.fanOutMs)),
      curveOpsPerLeave: meanOps(leaves),
      curveOpsPerJoin: meanOps(joins),
    };
    const cp = criticalPath;
    opts.log(
      `  critical path: leader CPU per fresh rotation p50 ${cp.leaderCpuPerFreshRotationMs.p50.toFixed(1)} ms, per ratchet p50 ${cp.leaderCpuPerRatchetMs?.p50.toFixed(1) ?? "–"} ms; member CPU per rotation p50 ${cp.memberCpuPerFreshRotationMs.p50.toFixed(1)} ms; relay one hop p50 ${cp.relayOneHopMs.p50.toFixed(1)} ms, fan-out to ${n - 1} p50 ${cp.relayFanOutMs.p50.toFixed(1)} ms`,
    );
    return {
      participants: n,
      clientProcesses: fleet.hostCount,
      joinToKeyMs: { p50: join.p50, p95: join.p95 },
      leaveToCommitMs: { p50: leave.p50, p95: leave.p95 },
      envelopesPerJoin: mean(perJoin),
      envelopesPerLeave: mean(perLeave),
      setupMessages: keyEnvelopes(setup),
      naiveSetupMessages: n * (n - 1),
      criticalPath,
      details: {
        joinToKeyMs: join,
        leaveToCommitMs: leave,
        envelopesPerJoinRange: { min: Math.min(...perJoin), max: Math.max(...perJoin) },
        envelopesPerLeaveRange: { min: Math.min(...perLeave), max: Math.max(...perLeave) },
        expectedEnvelopesPerLeave: n - 2,
        broadcastsPerJoin: sumOf(joinCounts, (c) => c["broadcast-ratchet"] + c["broadcast-commit"]),
        broadcastsPerLeave: sumOf(
          leaveCounts,
          (c) => c["broadcast-ratchet"] + c["broadcast-commit"],
        ),
        otherUnicastsPerLeave: sumOf(leaveCounts, (c) => c.ack + c["key-request"]),
        commitTimeouts,
        socketDrops: fleet.drops(),
        setupSeconds,
        setupByKind: setup,
        hostEventLoopDelayMs: loopDelays,
        inboundOverflows,
      },
    };
  } finally {
    relay?.close();
    await fleet.close();
  }
}

interface Sample {
  ms: number;
  counts: Counts;
}

/** What one event cost the leader and one other member, and the whole call's curve operations. */
interface CostSample {
  /** The leader's handler CPU from the event until its commit. */
  leaderCpuMs: number;
  /** A random member's (not the leader, leaver or joiner) handler CPU until it switched. */
  memberCpuMs: number;
  allOps: CurveOps;
  leaderOps: CurveOps;
}

type LeaveSample = Sample & CostSample & { commitTimedOut: boolean };
type JoinSample = Sample & CostSample;

/**
 * Where an event's cost is read from: its leader and one random member, read before the event
 * (between events, when no handler runs, so asking their hosts changes nothing).
 */
async function observe(fleet: HostedFleet, exclude: HostedMember | undefined) {
  const leader = fleet.leader();
  if (!leader) throw new Error("no leader");
  const others = fleet.members().filter((m) => m !== leader && m !== exclude);
  const member = others[Math.floor(Math.random() * others.length)];
  if (!member) throw new Error("no member to observe");
  const [allOps, leaderBefore, memberBefore] = await Promise.all([
    fleet.curveOps(),
    fleet.sample(leader),
    fleet.sample(member),
  ]);
  /** The costs once the leader committed `epoch` and the member switched to it or stopped. */
  return async (epoch: number): Promise<CostSample> => {
    const isCommit = (c: CommitRecord) => c.epoch === epoch && c.leader === leader.name;
    // The leader's host reports the commit on its own channel, which may trail the members'.
    await waitFor(() => fleet.commits.some(isCommit), 5_000);
    const commit = fleet.commits.find(isCommit);
    if (!commit) throw new Error(`the leader made no commit of epoch ${epoch}`);
    const switched = firstSwitchCpuAtOrAfter(member, epoch);
    const [allAfter, leaderAfter, memberAfter] = await Promise.all([
      fleet.curveOps(),
      fleet.sample(leader),
      fleet.sample(member),
    ]);
    return {
      leaderCpuMs: commit.cpuMs - leaderBefore.cpuMs,
      // A member locked out (sending nothing) spent what it spent until now.
      memberCpuMs: (switched ?? memberAfter.cpuMs) - memberBefore.cpuMs,
      allOps: diffCurveOps(allAfter, allOps),
      leaderOps: diffCurveOps(leaderAfter.curveOps, leaderBefore.curveOps),
    };
  };
}

function meanOps(samples: readonly CostSample[]) {
  const mean = (pick: (s: CostSample) => CurveOps) => {
    const sum = (field: keyof CurveOps) =>
      samples.reduce((total, s) => total + pick(s)[field], 0) / samples.length;
    return {
      x25519SharedSecrets: sum("x25519SharedSecrets"),
      ed25519Signs: sum("ed25519Signs"),
      ed25519Verifies: sum("ed25519Verifies"),
      keyPairs: sum("keyPairs"),
    };
  };
  return { all: mean((s) => s.allOps), leader: mean((s) => s.leaderOps) };
}

/**
 * The leader's CPU in the one call that made each ratchet during the cycles (joins' and periodic
 * ones): from the start of the handler that began the rotation to its commit in the same call.
 */
function ratchetCalls(fleet: HostedFleet, since: number): number[] {
  const out: number[] = [];
  for (const rotation of fleet.rotations) {
    if (rotation.fresh || rotation.at < since) continue;
    const commit = fleet.commits.find(
      (c) => c.epoch === rotation.epoch && c.leader === rotation.leader,
    );
    if (commit) out.push(commit.cpuMs - rotation.cpuBeforeCallMs);
  }
  return out;
}

/**
 * A random member that is not the leader leaves; done when every other member sends with the fresh
 * key or sends nothing (the lock-out: no remaining member sends with a key the leaver holds).
 */
async function measureLeave(fleet: HostedFleet): Promise<LeaveSample> {
  const leader = fleet.leader();
  const candidates = fleet.members().filter((m) => m !== leader);
  const leaver = candidates[Math.floor(Math.random() * candidates.length)];
  if (!leader || !leaver) throw new Error("no member to leave");
  const timeoutMs = eventTimeoutMs(fleet.members().length);
  const cost = await observe(fleet, leaver);
  const before = await fleet.counts();
  const rotationsBefore = fleet.rotations.length;
  const start = await fleet.leave(leaver);
  const rotated = await waitFor(
    () => fleet.rotations.slice(rotationsBefore).some((r) => r.fresh),
    timeoutMs,
  );
  if (!rotated) throw new Error("the leader did not start a fresh-key rotation after a leave");
  const rotation = fleet.rotations.slice(rotationsBefore).find((r) => r.fresh);
  const epoch = rotation?.epoch ?? 0;
  const remaining = fleet.members();
  const switched = (m: HostedMember) =>
    m.sendingEpoch >= epoch || (m.sendingEpoch === 0 && m.stoppedAt.some((at) => at >= start));
  if (!(await waitFor(() => remaining.every(switched), timeoutMs))) {
    throw new Error(
      `after a leave, not every member switched to epoch ${epoch} within ${timeoutMs} ms`,
    );
  }
  const end = Math.max(
    ...remaining.map((m) =>
      Math.min(firstSwitchAtOrAfter(m, epoch), ...m.stoppedAt.filter((at) => at >= start)),
    ),
  );
  const costs = await cost(epoch);
  const commit = fleet.commits.find((c) => c.epoch === epoch);
  return {
    ms: end - start,
    counts: diffCounts(await fleet.counts(), before),
    commitTimedOut: commit?.timedOut ?? false,
    ...costs,
  };
}

/** A new member joins; done when it holds the key and every member sends with the same one. */
async function measureJoin(fleet: HostedFleet): Promise<JoinSample> {
  const timeoutMs = eventTimeoutMs(fleet.members().length);
  const before = await fleet.counts();
  // The joiner does not exist yet, so any current member but the leader may be observed.
  const cost = await observe(fleet, undefined);
  const joiner = await fleet.join({ measured: true });
  if (!(await waitFor(() => joiner.firstKeyAt !== undefined, timeoutMs))) {
    throw new Error(`a joiner got no key within ${timeoutMs} ms`);
  }
  if (!(await waitFor(() => fleet.converged().converged, timeoutMs, 5))) {
    throw new Error(`the call did not converge within ${timeoutMs} ms of a join`);
  }
  // The epoch the leader made for the joiner (a ratchet, or every freshEvery-th time a fresh key).
  if (joiner.firstEpoch === undefined) throw new Error("the joiner never switched to a key");
  const costs = await cost(joiner.firstEpoch);
  return {
    ms: (joiner.firstKeyAt ?? 0) - joiner.startedAt,
    counts: diffCounts(await fleet.counts(), before),
    ...costs,
  };
}

/** The member's handler CPU when it first switched to `epoch` or later, if it did. */
function firstSwitchCpuAtOrAfter(member: HostedMember, epoch: number): number | undefined {
  let first: { epoch: number; cpu: number } | undefined;
  for (const [e, cpu] of member.switchedCpuMs) {
    if (e >= epoch && (first === undefined || e < first.epoch)) first = { epoch: e, cpu };
  }
  return first?.cpu;
}

function firstSwitchAtOrAfter(member: HostedMember, epoch: number): number {
  let first = Number.POSITIVE_INFINITY;
  for (const [e, at] of member.switchedAt) if (e >= epoch && at < first) first = at;
  return first;
}
