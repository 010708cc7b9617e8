// The messages between the signalling bench's main process (hosted-fleet.ts) and its fleet hosts
// (fleet-host.ts, child processes that each run some of the call's clients), over Node's IPC
// channel as JSON. Group keys never cross it: a host reports a truncated SHA-256 of the key each
// member sends with, enough to see that everyone holds the same one.
import type { CurveOps } from "../../web/src/core/index";
import type { CommitRecord, Counts, RotationRecord } from "./fleet";

/** Stands for the room id in the URL template a host receives (the Worker's wsUrl is a function). */
export const ROOM_PLACEHOLDER = "__ROOM__";

/** The first message to a host: the call it joins, without which it can run no client. */
export interface HostInit {
  type: "init";
  /** The call secret, base64: every client of the call needs it to join (it is not a group key). */
  secret: string;
  urlTemplate: string;
  namePrefix: string;
  /**
   * Meter every client's handler CPU from its start (the leader's host); otherwise a client is
   * metered from the first time it is sampled, so members nobody reads pay no clock reads.
   */
  meterEveryClient: boolean;
}

export type HostRequest =
  | { type: "join"; timeoutMs: number }
  | { type: "leave"; name: string }
  | { type: "counts" }
  | { type: "curve-ops" }
  /** One member's handler CPU so far and its curve operations. */
  | { type: "sample"; name: string }
  | { type: "loop-delay"; action: "start" | "stop" }
  | { type: "close" };

export interface HostReplies {
  join: { name: string; seq: number | undefined };
  leave: { at: number };
  counts: Counts;
  "curve-ops": CurveOps;
  sample: { cpuMs: number; curveOps: CurveOps };
  "loop-delay": LoopDelay;
  close: null;
}

export interface LoopDelay {
  /** Clients this host ran when the delay was read. */
  clients: number;
  mean: number;
  p99: number;
  max: number;
}

/**
 * What changed of one client since its host's last report (times in the host's clock): the scalar
 * fields in full, the lists only their new entries (they only grow), so a report stays small when
 * each of 200 members has switched hundreds of epochs.
 */
export interface MemberState {
  name: string;
  startedAt: number;
  seq: number | undefined;
  firstKeyAt: number | undefined;
  /** First switches to epochs not reported before, with the handler CPU at each. */
  newSwitches: [epoch: number, at: number, cpuMs: number][];
  newStops: number[];
  sendingEpoch: number;
  firstEpoch: number | undefined;
  connected: boolean;
  newDrops: string[];
  left: boolean;
  /** Truncated SHA-256 of the key of `sendingEpoch`, null without one. */
  keyHash: string | null;
}

export type HostMessage =
  | { type: "ready"; monotonicOffsetMs: number }
  | {
      type: "state";
      members: MemberState[];
      rotations: RotationRecord[];
      commits: CommitRecord[];
    }
  | { type: "reply"; id: number; value: unknown }
  | { type: "reply"; id: number; error: string };

export type MainMessage = HostInit | { type: "request"; id: number; request: HostRequest };

/**
 * How far this process's performance.now() is behind the machine's monotonic clock
 * (process.hrtime, CLOCK_MONOTONIC on Linux, one clock for every process). Both are read from the
 * same clock, so the offset is constant; a host time t is main time t + hostOffset - mainOffset.
 * Not performance.timeOrigin: that is a wall-clock reading, which NTP may move between two starts.
 */
export function monotonicOffsetMs(): number {
  const before = performance.now();
  const monotonic = Number(process.hrtime.bigint()) / 1e6;
  const after = performance.now();
  return monotonic - (before + after) / 2;
}
