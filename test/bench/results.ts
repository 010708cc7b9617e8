// The shape of test/bench/results/latest.json. The README table, the chart and anyone comparing runs
// read this file, so it is a contract (issue 6): one `signalling` object per room size N and one
// `media` object. Results are parsed against this schema before they are written.
import { z } from "zod";
import { JOIN_PHASES } from "./join-phases";

const Percentiles = z.object({ p50: z.number().nonnegative(), p95: z.number().nonnegative() });
const Summary = Percentiles.extend({
  samples: z.number().int().nonnegative(),
  min: z.number().nonnegative(),
  max: z.number().nonnegative(),
  mean: z.number().nonnegative(),
});

const CurveOps = z.object({
  x25519SharedSecrets: z.number().nonnegative(),
  ed25519Signs: z.number().nonnegative(),
  ed25519Verifies: z.number().nonnegative(),
  keyPairs: z.number().nonnegative(),
});

/**
 * What a real call would see of one event, free of the other clients sharing a bench process
 * (issue 12): each client's CPU time is its process's CPU time while its own socket handlers and
 * timers ran.
 */
const CriticalPath = z.object({
  /** The leader's CPU from a leave until its commit (n-2 envelopes sealed, n-2 acks, the signature). */
  leaderCpuPerFreshRotationMs: Summary,
  /** The leader's CPU in the one call that made a ratchet (joins' and periodic ones). */
  leaderCpuPerRatchetMs: Summary.nullable(),
  /** The leader's CPU from a join until its commit: admitting the joiner, then the ratchet. */
  leaderCpuPerJoinMs: Summary,
  /** A random other member's CPU from a leave until it switched (envelope, ack, commit check). */
  memberCpuPerFreshRotationMs: Summary,
  /** A random other member's CPU from a join until it switched (admitting the joiner, the ratchet). */
  memberCpuPerJoinMs: Summary,
  /** One unicast through the room, bare clients on the same Worker, between the events. */
  relayOneHopMs: Summary,
  /** A commit-sized broadcast until the last of n-1 bare receivers has it. */
  relayFanOutMs: Summary,
  /** Mean curve operations per event, of all clients and of the leader alone. */
  curveOpsPerLeave: z.object({ all: CurveOps, leader: CurveOps }),
  curveOpsPerJoin: z.object({ all: CurveOps, leader: CurveOps }),
});

const LoopDelay = z.object({
  mean: z.number().nonnegative(),
  p99: z.number().nonnegative(),
  max: z.number(),
});

export const SignallingResult = z.object({
  participants: z.number().int().positive(),
  /**
   * Node processes the N clients ran in, the key leader alone in the first when there are several
   * (issue 12). Absent in results written while all N shared one process.
   */
  clientProcesses: z.number().int().positive().optional(),
  /** From opening the joiner's socket until the joiner holds the current group key. */
  joinToKeyMs: Percentiles,
  /** From the leave until every remaining member sends with the fresh key (the commit barrier). */
  leaveToCommitMs: Percentiles,
  /** Envelopes sent by all clients per join / per leave, counted by the client core's metrics. */
  envelopesPerJoin: z.number().nonnegative(),
  envelopesPerLeave: z.number().nonnegative(),
  /** Envelopes sent by all clients while the call grew from 1 to N members. */
  setupMessages: z.number().int().nonnegative(),
  /** n(n-1): every client sends its own key to every other. */
  naiveSetupMessages: z.number().int().nonnegative(),
  /** Absent in results written before issue 12. */
  criticalPath: CriticalPath.optional(),
  details: z.object({
    joinToKeyMs: Summary,
    leaveToCommitMs: Summary,
    envelopesPerJoinRange: z.object({ min: z.number(), max: z.number() }),
    envelopesPerLeaveRange: z.object({ min: z.number(), max: z.number() }),
    /** n-2 for a leave from a room of N. */
    expectedEnvelopesPerLeave: z.number().int(),
    broadcastsPerJoin: z.number().nonnegative(),
    broadcastsPerLeave: z.number().nonnegative(),
    /** Other key-channel unicasts (acknowledgements, key requests) per leave. */
    otherUnicastsPerLeave: z.number().nonnegative(),
    /**
     * Leaves whose commit barrier gave up waiting for acknowledgements (docs/key-schedule.md,
     * Commit barrier).
     */
    commitTimeouts: z.number().int().nonnegative(),
    /** Sockets of admitted members that dropped during the run, by reason (should be none). */
    socketDrops: z.record(z.string(), z.number().int().nonnegative()),
    setupSeconds: z.number().nonnegative(),
    /** Everything sent while the call grew to N, by kind (envelopes and broadcasts). */
    setupByKind: z.record(z.string(), z.number().int().nonnegative()),
    /**
     * Event-loop delay of the one Node process that ran all N clients during the cycles: time an
     * event waited before any client could handle it (simulation overhead, not protocol). Only in
     * results written before the clients ran in several processes.
     */
    clientEventLoopDelayMs: LoopDelay.optional(),
    /**
     * The same per client process during the cycles, the leader's first, with its client count;
     * less the 10 ms sampling interval, which the one-process figure above still included.
     */
    hostEventLoopDelayMs: z
      .array(
        LoopDelay.extend({
          /** "joiners": the process of the join samples' joiners (none before it had one). */
          role: z.enum(["leader", "members", "joiners"]),
          clients: z.number().int().nonnegative(),
        }),
      )
      .optional(),
    /**
     * Connections the clients gave up because too many frames waited behind a signature check, from
     * the start of set-up to the end of the cycles. Absent in results written before the checks
     * were asynchronous.
     */
    inboundOverflows: z.number().int().nonnegative().optional(),
  }),
});
export type SignallingResult = z.infer<typeof SignallingResult>;

export const RelayResult = z.object({
  participants: z.number().int().positive(),
  senders: z.number().int().positive(),
  payloadBytes: z.number().int().positive(),
  delivered: z.number().int().nonnegative(),
  seconds: z.number().positive(),
  payloadsPerSecond: z.number().nonnegative(),
});
export type RelayResult = z.infer<typeof RelayResult>;

/** Issue 10: an honest member's unicast round trip in a room of 10, quiet and under each attack. */
/** One server's restarts in the recovery section (issue 15). */
export const RecoverySeries = z.object({
  restarts: z.number().int().positive(),
  /** How long the server stayed down before it was started again. */
  downMs: z.number().nonnegative(),
  /** Per converged restart: from the server answering again until every pair decodes again. */
  recoveredMs: z.array(z.number().nonnegative()),
  summary: Summary.nullable(),
  /** Per converged restart: livekit's decrypt errors of all pages from the kill until converged. */
  decryptErrors: z.array(z.number().int().nonnegative()),
  /** Worker only, per converged restart: from answering until every page's signalling was joined again. */
  rejoinedMs: z.array(z.number().nonnegative()).optional(),
  /**
   * Per converged restart: keyframes the pages asked the SFU for because a video received packets
   * but decoded nothing (web/src/media/stalledVideo.ts); absent before those requests existed.
   */
  keyframeRequests: z.array(z.number().int().nonnegative()).optional(),
  /** Restarts after which the call did not converge within the deadline. */
  stuck: z.number().int().nonnegative(),
});
export type RecoverySeries = z.infer<typeof RecoverySeries>;

export const RecoveryResult = z.object({
  participants: z.number().int().positive(),
  /** 1-minute load average before and after the section (absent in the first recovery.json). */
  loadAverage: z
    .object({ start: z.number().nonnegative(), end: z.number().nonnegative() })
    .optional(),
  sfu: RecoverySeries,
  worker: RecoverySeries,
  /** SFU restarts with a busy process per core from just before the kill until converged (absent before). */
  sfuUnderHog: RecoverySeries.optional(),
});
export type RecoveryResult = z.infer<typeof RecoveryResult>;

export const AbuseResult = z.object({
  roomSize: z.number().int().positive(),
  secondsPerPhase: z.number().positive(),
  quiet: z.object({ p50Ms: z.number(), p95Ms: z.number(), samples: z.number().int() }),
  attacks: z.array(
    z.object({
      attack: z.enum(["malformed frames", "idle-socket flood", "byte flood", "non-reader"]),
      p50Ms: z.number(),
      p95Ms: z.number(),
      p50Ratio: z.number(),
      p95Ratio: z.number(),
      samples: z.number().int(),
      /** Round trips that never completed (counted as the 10 s timeout). */
      lost: z.number().int(),
      /** Growth of workerd's resident memory over the phase (non-reader only). */
      memoryGrowthBytes: z.number().nullable(),
    }),
  ),
});
export type AbuseResult = z.infer<typeof AbuseResult>;

export const ChurnResult = z.object({
  seconds: z.number().positive(),
  joins: z.number().int().nonnegative(),
  leaves: z.number().int().nonnegative(),
  /** Leaves of the key leader among them (the next member takes over). */
  leaderLeaves: z.number().int().nonnegative(),
  failedJoins: z.number().int().nonnegative(),
  minMembers: z.number().int().nonnegative(),
  maxMembers: z.number().int().nonnegative(),
  /** Key-state checks run: after every key, sending-epoch or membership change of any member. */
  checks: z.number().int().nonnegative(),
  checksWithGap: z.number().int().nonnegative(),
  /** Episodes in which a keyed member lacked the key another member was sending with. */
  gaps: z.number().int().nonnegative(),
  /** Gaps where a sender already used a newer key than the receiver held. */
  gapsReceiverBehind: z.number().int().nonnegative(),
  /** Gaps where the receiver had already dropped a key that a slower sender still used. */
  gapsReceiverAhead: z.number().int().nonnegative(),
  gapMs: Summary.nullable(),
  /** Member-time without the current key over all keyed member-time (0..1). */
  memberTimeWithoutKey: z.number().min(0).max(1),
  /** Join → key of the joins during the churn. */
  joinToKeyMs: Summary.nullable(),
  /** Fresh-key rotations whose commit barrier gave up waiting for acknowledgements. */
  commitTimeouts: z.number().int().nonnegative(),
  /** Sockets of admitted members that dropped (the core rejoins as a new member), by reason. */
  socketDrops: z.record(z.string(), z.number().int().nonnegative()),
  converged: z.boolean(),
  convergedMembers: z.number().int().nonnegative(),
  finalEpoch: z.number().int().nonnegative().nullable(),
});
export type ChurnResult = z.infer<typeof ChurnResult>;

const CpuResult = z.discriminatedUnion("measured", [
  z.object({ measured: z.literal(false), reason: z.string() }),
  z.object({
    measured: z.literal(true),
    participants: z.number().int().positive(),
    seconds: z.number().positive(),
    /**
     * Rounds of one call per mode, in turn; the figures are each mode's median round (its CPU,
     * frames and threads). Absent before rounds: one window each.
     */
    rounds: z.number().int().positive().optional(),
    /** Every round's CPU time by mode, in the order run. */
    roundsMs: z
      .object({
        off: z.array(z.number().nonnegative()),
        transform: z.array(z.number().nonnegative()),
        e2ee: z.array(z.number().nonnegative()),
        hush: z.array(z.number().nonnegative()),
      })
      .optional(),
    e2eeOnMs: z.number().nonnegative(),
    e2eeOffMs: z.number().nonnegative(),
    /** Video frames all pages decoded in the window, to show both runs did the same work. */
    framesOn: z.number().int().nonnegative(),
    framesOff: z.number().int().nonnegative(),
    ratio: z.number().nonnegative().nullable(),
    /** The ratio of CPU time per decoded video frame, fairer when the two runs decoded different amounts. */
    ratioPerFrame: z.number().nonnegative().nullable(),
    method: z.string(),
    /** CPU by browser thread name, the threads that differ most between on and off (issue 12). */
    byThread: z
      .array(
        z.object({
          thread: z.string(),
          onMs: z.number().nonnegative(),
          offMs: z.number().nonnegative(),
        }),
      )
      .optional(),
    /**
     * The same call with livekit's encoded transform on every track but a pass-through worker in
     * place of its E2EE worker (no cipher, no livekit frame code): what the transform alone costs.
     */
    transformOnly: z
      .object({
        cpuMs: z.number().nonnegative(),
        frames: z.number().int().nonnegative(),
        /** CPU of the pass-through worker's thread, and of livekit's E2EE worker's in the "on" run. */
        workerMs: z.number().nonnegative(),
        e2eeWorkerMs: z.number().nonnegative(),
      })
      .optional(),
    /**
     * The same call with the web app's own E2EE worker (livekit's frame code inside our frame
     * guard): the cost the product pays. Absent in results written before it was measured.
     */
    hushWorker: z
      .object({
        cpuMs: z.number().nonnegative(),
        frames: z.number().int().nonnegative(),
        /** Over the "off" run's CPU. */
        ratio: z.number().nonnegative().nullable(),
        workerMs: z.number().nonnegative(),
      })
      .optional(),
  }),
]);

/** Frames the stayers' frame guards refused over the rotation window, by reason. */
const RefusedFrames = z.object({
  /** The SFU's own frames (its blank frames when a track stops): expected, not failures. */
  serverInjected: z.number().int().nonnegative(),
  keyNotAllowed: z.number().int().nonnegative(),
  replay: z.number().int().nonnegative(),
  notDecrypted: z.number().int().nonnegative(),
});

/** Join → first frame on the CPU comparison's page, rounds alternating E2EE off and on. */
const FirstFrameE2ee = z.discriminatedUnion("measured", [
  z.object({ measured: z.literal(false), reason: z.string() }),
  z.object({
    measured: z.literal(true),
    onMs: Summary,
    offMs: Summary,
    /** Median on over median off. */
    ratio: z.number().nonnegative().nullable(),
    method: z.string(),
  }),
]);

export const MediaResult = z.discriminatedUnion("measured", [
  z.object({ measured: z.literal(false), reason: z.string() }),
  z.object({
    measured: z.literal(true),
    participants: z.number().int().positive(),
    /** From clicking "Join call" until a tile shows a frame, both directions (joiner ↔ members). */
    joinToFirstFrameMs: Summary,
    /**
     * Where that time goes: per moment of a join (test/bench/join-phases.ts) its time from the
     * click, null when no join reached it. Absent in results written before it existed.
     */
    joinPhasesMs: z.record(z.enum(JOIN_PHASES), Summary.nullable()).optional(),
    firstFrameTimeouts: z.number().int().nonnegative(),
    joins: z.number().int().nonnegative(),
    /** Epochs the stayers' sending key advanced over the watched window (ratchets, a leave, a join). */
    rotations: z.number().int().nonnegative(),
    /** Null when the run stopped before the rotation window was over (see `incomplete`). */
    decryptFailures: z.number().int().nonnegative().nullable(),
    /** Absent in results written before issue 12; null when the window was not completed. */
    refusedFrames: RefusedFrames.nullable().optional(),
    /** Why the app run stopped early, if it did: its figures then cover only what was measured. */
    incomplete: z.string().nullable(),
    cpu: CpuResult,
    /** Absent in results written before issue 12. */
    firstFrameE2ee: FirstFrameE2ee.optional(),
  }),
]);
export type MediaResult = z.infer<typeof MediaResult>;

export const BenchResults = z.object({
  version: z.literal(1),
  generatedAt: z.string(),
  command: z.string(),
  quick: z.boolean(),
  wallTimeSeconds: z.number().nonnegative(),
  machine: z.object({
    cpu: z.string(),
    cores: z.number().int().positive(),
    memoryGiB: z.number().nonnegative(),
    node: z.string(),
    platform: z.string(),
  }),
  /** 1-minute load average before and after the run: other work on the machine skews latencies. */
  loadAverage: z.object({ start: z.number().nonnegative(), end: z.number().nonnegative() }),
  /** Worker vars the bench overrode (room capacity, rate limits), so readers can judge the setup. */
  workerVars: z.record(z.string(), z.string()),
  signalling: z.array(SignallingResult),
  relay: RelayResult.nullable(),
  churn: ChurnResult.nullable(),
  /**
   * The same churn with a busy process per core beside it (clients that handle the leader's
   * messages at very different moments). Absent in results written before it existed.
   */
  churnUnderLoad: ChurnResult.nullable().optional(),
  media: MediaResult,
  /** Absent in results written before the abuse section existed. */
  abuse: AbuseResult.nullable().optional(),
  /** Absent in results written before the recovery section existed (issue 15). */
  recovery: RecoveryResult.nullable().optional(),
  /** Sections that failed, with their reason (their figures are absent, never invented). */
  failures: z.array(z.string()),
});
export type BenchResults = z.infer<typeof BenchResults>;
