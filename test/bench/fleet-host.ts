// One fleet host of the signalling bench: a child process (forked by hosted-fleet.ts, run by tsx
// like its parent) that runs some of the call's clients in an in-process Fleet and reports what the
// benchmarks read of them to the main process. State goes out in a setImmediate after the client's
// handler returned, so neither the hashing nor the IPC counts in any client's handler CPU.
import { createHash } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { CallSecret } from "../../web/src/core/index";
import { groupKeyOf } from "../support/session-keys";
import { Fleet, type FleetMember } from "./fleet";
import type {
  HostMessage,
  HostReplies,
  HostRequest,
  MainMessage,
  MemberState,
} from "./fleet-protocol";
import { monotonicOffsetMs, ROOM_PLACEHOLDER } from "./fleet-protocol";

// Without its parent there is nobody to report to: a host never outlives the bench.
process.on("disconnect", () => process.exit(0));

let fleet: Fleet | undefined;
const byName = new Map<string, FleetMember>();
const dirty = new Set<FleetMember>();
/** How many entries of each member's growing lists went out already. */
const reported = new Map<FleetMember, { switches: number; stops: number; drops: number }>();
let rotationsSent = 0;
let commitsSent = 0;
let flushScheduled = false;
// How long events waited for this host's one thread: the simulation's share of the latencies.
const RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
/**
 * Node records the whole interval between two runs of its sampling timer, resolution included (an
 * idle process reports a mean of about 10.3 ms), so the delay proper is that interval less it.
 */
const delayMs = (intervalNs: number) => Math.max(0, intervalNs / 1e6 - RESOLUTION_MS);

function send(message: HostMessage): void {
  process.send?.(message);
}

function schedule(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flush);
}

/** Sends what changed since the last flush: members' state and new rotation and commit records. */
function flush(): void {
  flushScheduled = false;
  if (!fleet) return;
  const members = [...dirty].map(stateOf);
  dirty.clear();
  const rotations = fleet.rotations.slice(rotationsSent);
  const commits = fleet.commits.slice(commitsSent);
  rotationsSent += rotations.length;
  commitsSent += commits.length;
  if (members.length + rotations.length + commits.length === 0) return;
  send({ type: "state", members, rotations, commits });
}

function stateOf(m: FleetMember): MemberState {
  const key = m.sendingEpoch === 0 ? undefined : groupKeyOf(m.session, m.sendingEpoch);
  const sent = reported.get(m) ?? { switches: 0, stops: 0, drops: 0 };
  // Fleet adds an epoch to switchedAt and switchedCpuMs together and never removes one.
  const newSwitches = [...m.switchedAt]
    .slice(sent.switches)
    .map(([epoch, at]): [number, number, number] => [epoch, at, m.switchedCpuMs.get(epoch) ?? 0]);
  const newStops = m.stoppedAt.slice(sent.stops);
  const newDrops = m.drops.slice(sent.drops);
  reported.set(m, {
    switches: sent.switches + newSwitches.length,
    stops: sent.stops + newStops.length,
    drops: sent.drops + newDrops.length,
  });
  return {
    name: m.name,
    startedAt: m.startedAt,
    seq: m.seq,
    firstKeyAt: m.firstKeyAt,
    newSwitches,
    newStops,
    sendingEpoch: m.sendingEpoch,
    firstEpoch: m.firstEpoch,
    connected: m.connected,
    newDrops,
    left: m.left,
    keyHash: key ? createHash("sha256").update(key).digest("hex").slice(0, 16) : null,
  };
}

function memberNamed(name: string): FleetMember {
  const member = byName.get(name);
  if (!member) throw new Error(`this host runs no client ${name}`);
  return member;
}

async function handle(f: Fleet, request: HostRequest): Promise<HostReplies[HostRequest["type"]]> {
  switch (request.type) {
    case "join": {
      const member = await f.join(request.timeoutMs);
      byName.set(member.name, member);
      dirty.add(member);
      return { name: member.name, seq: member.seq };
    }
    case "leave": {
      const member = memberNamed(request.name);
      const at = f.leave(member);
      dirty.add(member);
      return { at };
    }
    case "counts":
      return f.counts();
    case "curve-ops":
      return f.curveOps();
    case "sample": {
      const member = memberNamed(request.name);
      // Between events (no handler of its runs): metered from here, so this reading is its baseline.
      member.cpu.meter();
      return { cpuMs: member.cpu.nowMs(), curveOps: member.session.metrics().curveOps };
    }
    case "loop-delay":
      if (request.action === "start") {
        loopDelay.reset();
        loopDelay.enable();
      } else {
        loopDelay.disable();
      }
      // An empty histogram's mean is NaN.
      if (loopDelay.count === 0) return { clients: f.members().length, mean: 0, p99: 0, max: 0 };
      return {
        clients: f.members().length,
        mean: delayMs(loopDelay.mean),
        p99: delayMs(loopDelay.percentile(99)),
        max: delayMs(loopDelay.max),
      };
    case "close":
      f.closeAll();
      return null;
  }
}

process.on("message", (message: MainMessage) => {
  if (message.type === "init") {
    const url = (roomId: string) => message.urlTemplate.replace(ROOM_PLACEHOLDER, roomId);
    const secret = new Uint8Array(Buffer.from(message.secret, "base64")) as CallSecret;
    const f = new Fleet(url, secret, message.namePrefix, message.meterEveryClient);
    f.onChange((member) => {
      byName.set(member.name, member);
      dirty.add(member);
      schedule();
    });
    f.onRecord(schedule);
    fleet = f;
    send({ type: "ready", monotonicOffsetMs: monotonicOffsetMs() });
    return;
  }
  const { id, request } = message;
  const f = fleet;
  if (!f) {
    send({ type: "reply", id, error: "the host got a request before its init" });
    return;
  }
  handle(f, request).then(
    (value) => {
      // The state the reply depends on goes first (one channel, in order).
      flush();
      send({ type: "reply", id, value });
    },
    (error: unknown) => {
      flush();
      send({ type: "reply", id, error: error instanceof Error ? error.message : String(error) });
    },
  );
});
