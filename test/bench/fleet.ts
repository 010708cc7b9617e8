// A fleet of Node clients in one call, each running the real client core (CallSession over the `ws`
// WebSocket) against the real Worker. It records what the benchmarks measure from the core's own
// events: when each client first held a key, when it switched to each epoch, every rotation the
// leader began, the envelope, broadcast and curve-operation counters, and each client's CPU time in
// its own handlers (handler-cpu.ts). Key bytes are only compared in memory.
import {
  type CallSecret,
  CallSession,
  type ConnectionState,
  type CurveOps,
  type EnvelopeKind,
  generateCallSecret,
  preferredSharedSecrets,
  preferredSignatureVerifier,
  type RotationReason,
  type SharedSecretDeriver,
  type SignatureVerifier,
  systemRandom,
} from "../../web/src/core/index";
import { groupKeyOf } from "../support/session-keys";
import { HandlerCpu, meteredClock, meteredSocket } from "./handler-cpu";

/** What the benchmarks record of one client, wherever it runs (here or in a fleet host). */
export interface MemberRecord {
  readonly name: string;
  seq: number | undefined;
  /** First time this client held any group key (the "key-in-hand" metric). */
  firstKeyAt: number | undefined;
  /** First time this client switched to each epoch. */
  readonly switchedAt: Map<number, number>;
  /** This client's handler CPU time (ms) when it first switched to each epoch. */
  readonly switchedCpuMs: Map<number, number>;
  /** Times this client was told to send nothing (its sending epoch went to 0). */
  readonly stoppedAt: number[];
  /** The epoch this client sends with now (0: no key yet). */
  sendingEpoch: number;
  /** The first epoch this client switched to: it must never hold a key of an earlier one. */
  firstEpoch: number | undefined;
  /** False while the socket is down: the core then drops every key and rejoins as a new member. */
  connected: boolean;
  /** Times the socket dropped after the client was admitted, with the reason the core gave. */
  readonly drops: string[];
  left: boolean;
}

export interface FleetMember extends MemberRecord {
  readonly session: CallSession;
  /** performance.now() just before the session was created. */
  readonly startedAt: number;
  /** CPU time of this client's socket handlers and timers. */
  readonly cpu: HandlerCpu;
}

export interface RotationRecord {
  readonly leader: string;
  readonly epoch: number;
  readonly fresh: boolean;
  readonly reason: RotationReason;
  readonly at: number;
  /** The leader's handler CPU before the call that began this rotation. */
  readonly cpuBeforeCallMs: number;
}

export interface CommitRecord {
  readonly leader: string;
  readonly epoch: number;
  readonly timedOut: boolean;
  readonly at: number;
  /** The leader's handler CPU when it committed (its signed broadcast made). */
  readonly cpuMs: number;
}

/** Envelopes and broadcasts sent, and connections given up for a flood behind a signature check. */
export type Counts = Record<
  EnvelopeKind | "broadcast-ratchet" | "broadcast-commit" | "inbound-overflows",
  number
>;

const KEY_KINDS: readonly EnvelopeKind[] = ["key-fresh", "key-ratchet-join", "key-current"];

/** Envelopes that carry a group key (acknowledgements and key requests are counted apart). */
export function keyEnvelopes(counts: Counts): number {
  return KEY_KINDS.reduce((sum, kind) => sum + counts[kind], 0);
}

export function diffCounts(after: Counts, before: Counts): Counts {
  const out = { ...after };
  for (const key of Object.keys(out) as (keyof Counts)[]) out[key] = after[key] - before[key];
  return out;
}

export function diffCurveOps(after: CurveOps, before: CurveOps): CurveOps {
  return {
    x25519SharedSecrets: after.x25519SharedSecrets - before.x25519SharedSecrets,
    ed25519Signs: after.ed25519Signs - before.ed25519Signs,
    ed25519Verifies: after.ed25519Verifies - before.ed25519Verifies,
    keyPairs: after.keyPairs - before.keyPairs,
  };
}

/** The member with the lowest join seq: the key leader (docs/key-schedule.md, The leader). */
export function leaderOf<M extends { seq: number | undefined }>(
  members: readonly M[],
): M | undefined {
  let best: M | undefined;
  for (const m of members) {
    if (m.seq !== undefined && (best?.seq === undefined || m.seq < best.seq)) best = m;
  }
  return best;
}

/** Socket drops of admitted clients, by reason. */
export function dropsOf(members: Iterable<{ readonly drops: readonly string[] }>) {
  const out: Record<string, number> = {};
  for (const m of members) for (const reason of m.drops) out[reason] = (out[reason] ?? 0) + 1;
  return out;
}

/**
 * The verifier every client of this process uses, as a page does: the platform's (Node's WebCrypto
 * Ed25519, in native code on libuv's threads) once its probe passes.
 */
const processSignatures = preferredSignatureVerifier();

/**
 * `shared`, with each answer's continuation run inside the client's meter. The native check itself
 * runs off the main thread, outside every client's handlers, as it does off a page's thread.
 */
function meteredVerifier(cpu: HandlerCpu, shared: SignatureVerifier): SignatureVerifier {
  return {
    verify: (signature, message, publicKey, done) =>
      shared.verify(signature, message, publicKey, (valid) => cpu.run(() => done(valid))),
  };
}

/** Likewise the envelope channels' X25519s: Node's WebCrypto, on libuv's threads. */
const processSharedSecrets = preferredSharedSecrets();

/** `shared`, with each answer's continuation run inside the client's meter (as meteredVerifier). */
function meteredSharedSecrets(cpu: HandlerCpu, shared: SharedSecretDeriver): SharedSecretDeriver {
  return {
    derive: (secretKey, publicKey, done) =>
      shared.derive(secretKey, publicKey, (secret) => cpu.run(() => done(secret))),
  };
}

export class Fleet {
  private readonly all: FleetMember[] = [];
  readonly rotations: RotationRecord[] = [];
  readonly commits: CommitRecord[] = [];
  private nextName = 1;
  private readonly changeListeners = new Set<(member: FleetMember) => void>();
  private readonly recordListeners = new Set<() => void>();

  /**
   * A fleet host (fleet-host.ts) passes the call's secret and a prefix of its own, so that the
   * clients of several processes are in one call under distinct names.
   */
  constructor(
    private readonly wsUrl: (roomId: string) => string,
    readonly secret: CallSecret = generateCallSecret(systemRandom),
    private readonly namePrefix = "bench-",
    /** Whether every client is metered from its start; else each from its first sample (host). */
    private readonly meterEveryClient = true,
  ) {}

  /** Called after any member's keys, sending epoch or membership changed. */
  onChange(listener: (member: FleetMember) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(member: FleetMember): void {
    for (const listener of this.changeListeners) listener(member);
  }

  /** Called after a rotation or commit was recorded (they change no member's keys by themselves). */
  onRecord(listener: () => void): () => void {
    this.recordListeners.add(listener);
    return () => this.recordListeners.delete(listener);
  }

  private recorded(): void {
    for (const listener of this.recordListeners) listener();
  }

  /** Current members (joined, not left), in join order. */
  members(): FleetMember[] {
    return this.all.filter((m) => !m.left);
  }

  /** Socket drops of admitted clients, by reason. */
  drops(): Record<string, number> {
    return dropsOf(this.all);
  }

  /** Creates a client and resolves once the room admitted it (its key may still be on the way). */
  async join(timeoutMs = 30_000): Promise<FleetMember> {
    const name = `${this.namePrefix}${this.nextName++}`;
    const startedAt = performance.now();
    const cpu = new HandlerCpu(this.meterEveryClient);
    const session = new CallSession({
      secret: this.secret,
      userId: `${name}-${Math.random().toString(36).slice(2)}`,
      deviceId: "node",
      displayName: name,
      socketUrl: this.wsUrl,
      WebSocket: meteredSocket(cpu),
      clock: meteredClock(cpu),
      signatures: meteredVerifier(cpu, processSignatures),
      sharedSecrets: meteredSharedSecrets(cpu, processSharedSecrets),
    });
    const member: FleetMember = {
      session,
      name,
      startedAt,
      seq: undefined,
      firstKeyAt: undefined,
      switchedAt: new Map(),
      switchedCpuMs: new Map(),
      cpu,
      stoppedAt: [],
      sendingEpoch: 0,
      firstEpoch: undefined,
      connected: false,
      drops: [],
      left: false,
    };
    session.on("metric", (event) => {
      const at = performance.now();
      switch (event.type) {
        case "key-in-hand":
          member.firstKeyAt ??= at;
          break;
        case "switch":
          member.sendingEpoch = event.epoch;
          // Epoch 0 is "send nothing" (no key yet, or locked out until a key the leaver lacks).
          if (event.epoch === 0) {
            member.stoppedAt.push(at);
            break;
          }
          member.firstEpoch ??= event.epoch;
          if (!member.switchedAt.has(event.epoch)) {
            member.switchedAt.set(event.epoch, at);
            member.switchedCpuMs.set(event.epoch, cpu.nowMs());
          }
          break;
        case "rotation":
          this.rotations.push({
            leader: name,
            epoch: event.epoch,
            fresh: event.fresh,
            reason: event.reason,
            at,
            cpuBeforeCallMs: cpu.beforeThisCallMs(),
          });
          this.recorded();
          break;
        case "commit":
          this.commits.push({
            leader: name,
            epoch: event.epoch,
            timedOut: event.timedOut,
            at,
            cpuMs: cpu.nowMs(),
          });
          this.recorded();
          break;
      }
    });
    session.on("connection", (state) => {
      const connected = state.status === "joined";
      if (member.connected && !connected && !member.left) {
        member.drops.push(dropReason(state));
        // A new membership follows: it starts without keys, like a joiner.
        member.sendingEpoch = 0;
        member.firstEpoch = undefined;
        member.firstKeyAt = undefined;
      }
      member.connected = connected;
      this.changed(member);
    });
    session.on("keys", () => this.changed(member));
    session.on("sending", () => this.changed(member));
    this.all.push(member);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        session.join(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${name} not admitted within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      member.left = true;
      session.leave();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    member.seq = session.snapshot().roster.find((entry) => entry.self)?.seq;
    return member;
  }

  leave(member: FleetMember): number {
    const at = performance.now();
    member.left = true;
    member.session.leave();
    this.changed(member);
    return at;
  }

  /**
   * The current member with the lowest join seq: the key leader (docs/key-schedule.md, The leader).
   */
  leader(): FleetMember | undefined {
    return leaderOf(this.members());
  }

  /** Envelopes and broadcasts sent by every client this fleet ever ran. */
  counts(): Counts {
    const counts: Counts = {
      "key-fresh": 0,
      "key-ratchet-join": 0,
      "key-current": 0,
      ack: 0,
      "key-request": 0,
      "broadcast-ratchet": 0,
      "broadcast-commit": 0,
      "inbound-overflows": 0,
    };
    for (const m of this.all) {
      const metrics = m.session.metrics();
      for (const kind of Object.keys(metrics.envelopesSent) as EnvelopeKind[]) {
        counts[kind] += metrics.envelopesSent[kind];
      }
      counts["broadcast-ratchet"] += metrics.broadcastsSent.ratchet;
      counts["broadcast-commit"] += metrics.broadcastsSent.commit;
      counts["inbound-overflows"] += metrics.inboundOverflows;
    }
    return counts;
  }

  /** Curve operations of every client this fleet ever ran. */
  curveOps(): CurveOps {
    const sum: CurveOps = {
      x25519SharedSecrets: 0,
      ed25519Signs: 0,
      ed25519Verifies: 0,
      keyPairs: 0,
    };
    for (const m of this.all) {
      const ops = m.session.metrics().curveOps;
      sum.x25519SharedSecrets += ops.x25519SharedSecrets;
      sum.ed25519Signs += ops.ed25519Signs;
      sum.ed25519Verifies += ops.ed25519Verifies;
      sum.keyPairs += ops.keyPairs;
    }
    return sum;
  }

  /**
   * True when every current member sends with the same epoch and holds the same key for it: the
   * convergence property of the key schedule.
   */
  converged(): { converged: boolean; epoch: number | null } {
    const members = this.members();
    const first = members[0];
    if (!first) return { converged: true, epoch: null };
    const epoch = first.sendingEpoch;
    const key = groupKeyOf(first.session, epoch);
    if (epoch === 0 || !key) return { converged: false, epoch: null };
    for (const m of members) {
      if (!m.connected) return { converged: false, epoch };
      if (m.sendingEpoch !== epoch) return { converged: false, epoch };
      const other = groupKeyOf(m.session, epoch);
      if (!other || !sameBytes(other, key)) return { converged: false, epoch };
    }
    return { converged: true, epoch };
  }

  closeAll(): void {
    for (const m of this.members()) this.leave(m);
  }
}

/** Why a socket dropped, without ids: the close code, or the error code the core reported. */
function dropReason(state: ConnectionState): string {
  if (!state.error) return state.status;
  return state.error.code === "connection_lost" ? state.error.message : state.error.code;
}

/** What describeCall reads of a fleet: the in-process Fleet and the HostedFleet both have it. */
export interface CallView {
  members(): readonly Pick<FleetMember, "sendingEpoch" | "firstKeyAt" | "connected">[];
  drops(): Record<string, number>;
}

/** A one-line picture of the call for failure messages: keys, epochs and sockets. */
export function describeCall(fleet: CallView): string {
  const members = fleet.members();
  const epochs = new Map<number, number>();
  for (const m of members) epochs.set(m.sendingEpoch, (epochs.get(m.sendingEpoch) ?? 0) + 1);
  const byEpoch = [...epochs].map(([epoch, count]) => `${count} on ${epoch}`).join(", ");
  const keyless = members.filter((m) => m.firstKeyAt === undefined).length;
  const down = members.filter((m) => !m.connected).length;
  return `${members.length} members: ${byEpoch}; ${keyless} without a key, ${down} disconnected, drops ${JSON.stringify(fleet.drops())}`;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Polls `done` every few ms until it holds; false after `timeoutMs`. */
export async function waitFor(
  done: () => boolean,
  timeoutMs: number,
  everyMs = 2,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
