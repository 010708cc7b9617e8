// The simulator: many real CallSessions (the very code browsers run) on a virtual clock, talking
// through the in-memory relay. It keeps the ground truth (who was admitted when, who left, which key
// was first used when) and checks the DESIGN §4 properties while the run goes on.
import { ed25519 } from "@noble/curves/ed25519.js";
import { toBase64url } from "../../../web/src/core/base64url.js";
import { signBroadcast } from "../../../web/src/core/broadcast.js";
import { CallSession } from "../../../web/src/core/call-session.js";
import { generateCallSecret, ratchetGroupKey } from "../../../web/src/core/identifiers.js";
import type { ScheduleConfig } from "../../../web/src/core/schedule-types.js";
import { type Connection, type Faults, HONEST, Relay, type ServerFrame } from "./relay.js";
import { seededRandom } from "./seeded-random.js";
import { VirtualClock } from "./virtual-clock.js";

export const SIM_SCHEDULE: Partial<ScheduleConfig> = {
  ratchetIntervalMs: 5_000,
  freshEvery: 4,
};

interface Incarnation {
  readonly connection: Connection;
  readonly admittedAt: number;
  removedAt?: number;
  /** First epoch this incarnation sent with. */
  firstEpoch?: number;
  /** Every group key it ever held, by epoch (text → raw), for the lock-out check. */
  readonly everHeld: Map<number, Map<string, Uint8Array>>;
  /** derivable[e]: keys of epoch e it holds or can ratchet to; grown lazily. */
  readonly derivable: Map<string, Uint8Array>[];
}

export interface SimClient {
  readonly index: number;
  readonly session: CallSession;
  /** Installed epochs → key (base64url), mirrored from "keys" events. */
  readonly installed: Map<number, string>;
  sending: number;
  status: string;
  current?: Incarnation;
  left: boolean;
}

export interface WorldOptions {
  readonly seed: number;
  readonly schedule?: Partial<ScheduleConfig>;
  readonly checkGlitches?: boolean;
}

export class World {
  readonly clock = new VirtualClock();
  readonly random;
  readonly relay: Relay;
  readonly secret;
  readonly clients: SimClient[] = [];
  readonly violations: string[] = [];
  readonly incarnations = new Map<number, Incarnation>();
  /** Key (base64url) → first time a current member sent media with it. */
  private readonly firstSent = new Map<string, number>();
  /** Connection id → leaver incarnations whose member-left it has processed. */
  private readonly leavesSeen = new Map<number, Set<Incarnation>>();
  private readonly ghosts = new Set<string>();
  private checkGlitches: boolean;
  private readonly glitchesSeen = new Set<string>();
  /** Set by anything that can change the glitch check's outcome, so it runs only then. */
  private keyStateChanged = true;

  constructor(private readonly options: WorldOptions) {
    this.random = seededRandom(options.seed);
    this.secret = generateCallSecret(this.random);
    this.checkGlitches = options.checkGlitches ?? false;
    this.relay = new Relay(this.clock, this.random, {
      admitted: (connection) => this.onAdmitted(connection),
      removed: (connection) => this.onRemoved(connection),
      delivering: (connection, frame) => this.onDelivering(connection, frame),
      delivered: () => {},
      sent: (_, data) => this.checkSentFrame(data),
    });
  }

  setFaults(faults: Faults): void {
    this.relay.faults = faults;
  }

  addClient(): SimClient {
    const index = this.clients.length;
    const session = new CallSession({
      secret: this.secret,
      userId: `user-${index}`,
      deviceId: "sim",
      displayName: `Client ${index}`,
      socketUrl: (roomId) => `ws://relay.invalid/v1/rooms/${roomId}/ws`,
      WebSocket: this.relay.socketClassFor(index),
      clock: this.clock,
      random: this.random,
      schedule: { ...SIM_SCHEDULE, ...this.options.schedule },
      reconnect: { maxAttempts: 50 },
    });
    const client: SimClient = {
      index,
      session,
      installed: new Map(),
      sending: 0,
      status: "idle",
      left: false,
    };
    session.on("connection", ({ status }) => {
      client.status = status;
      this.keyStateChanged = true;
    });
    this.clients.push(client);
    session.on("keys", (keys) => this.onKeys(client, keys.added, keys.removed));
    session.on("sending", ({ epoch }) => this.onSending(client, epoch));
    session.on("metric", (metric) => {
      if (metric.type === "commit") this.onCommit(client, metric.epoch);
    });
    session.join().catch(() => {});
    return client;
  }

  leave(client: SimClient): void {
    client.left = true;
    client.session.leave();
  }

  dropSocket(client: SimClient): void {
    const connection = client.current?.connection;
    if (connection) this.relay.dropConnection(connection);
  }

  /** The server lies: it announces a participant whose announcement does not verify. */
  addGhost(variant: number): string {
    const bytes = this.random(16);
    const participantId = toBase64url(bytes);
    this.ghosts.add(participantId);
    const members = this.relay.members();
    const real = members[0]?.announcement;
    const announcement = variant % 2 === 0 || !real ? toBase64url(this.random(200)) : real; // a real member's announcement under another id
    for (const member of members) {
      this.relay.deliver(member, {
        type: "member-joined",
        member: { participantId, seq: 100_000 + this.ghosts.size, announcement },
      });
    }
    return participantId;
  }

  /**
   * Injects a forged frame into one member right now and checks it changed nothing: same keys,
   * same sending epoch, nothing sent in response.
   */
  injectForgery(variant: number): void {
    const members = this.relay.members();
    const target = members[this.random.int(members.length)];
    if (!target) return;
    const client = this.clients[target.socket.client];
    if (!client) return;
    const recorded = this.relay.recorded.filter((r) => r.to !== target);
    const own = this.relay.recorded.filter((r) => r.to === target);
    const other = members.filter((m) => m !== target)[0];
    let frame: ServerFrame | undefined;
    switch (variant % 6) {
      case 0: {
        // Bit flip in a payload this member really received.
        const pick = own[this.random.int(own.length)];
        if (pick)
          frame = {
            ...pick.frame,
            payload: flipBit(String(pick.frame.payload), this.random.int(1 << 20)),
          };
        break;
      }
      case 1: {
        // An envelope meant for someone else, redirected here.
        const pick = recorded.filter(
          (r) => r.frame.type === "message" && r.frame.from !== target.participantId,
        )[0];
        if (pick) frame = pick.frame;
        break;
      }
      case 2:
        if (other) {
          frame = {
            type: "message",
            from: other.participantId,
            payload: toBase64url(this.random(120)),
          };
        }
        break;
      case 3:
        if (other) {
          frame = {
            type: "broadcast",
            from: other.participantId,
            payload: toBase64url(this.random(103)),
          };
        }
        break;
      case 4: {
        // A well-formed "ratchet"/"commit" for the next epoch, in the leader's name, signed with a
        // key the server made up: only the signature stands between it and the schedule.
        const leader = [...members].sort((x, y) => (x.seq ?? 0) - (y.seq ?? 0))[0];
        if (leader?.participantId && leader !== target) {
          const body = {
            kind: variant % 2 === 0 ? ("ratchet" as const) : ("commit" as const),
            epoch: client.sending + 1,
            chainStart: 1,
            leaderSeq: leader.seq ?? 0,
            keyCheck: this.random(16),
          };
          const forged = signBroadcast(
            client.session.roomId,
            leader.participantId,
            ed25519.keygen(this.random(32)).secretKey,
            body,
          );
          frame = { type: "broadcast", from: leader.participantId, payload: toBase64url(forged) };
        }
        break;
      }
      default: {
        // A real broadcast attributed to another member.
        const pick = this.relay.recorded.filter((r) => r.frame.type === "broadcast")[0];
        const impostor = members.find((m) => m.participantId !== pick?.frame.from && m !== target);
        if (pick && impostor) frame = { ...pick.frame, from: impostor.participantId };
        break;
      }
    }
    if (!frame) return;
    const before = this.fingerprint(client);
    const sentBefore = target.socket.sent;
    this.relay.dispatch(target, frame);
    if (this.fingerprint(client) !== before || target.socket.sent !== sentBefore) {
      this.violations.push(`forged frame (variant ${variant % 6}) changed client ${client.index}`);
    }
  }

  private fingerprint(client: SimClient): string {
    return JSON.stringify([client.sending, [...client.installed].sort((a, b) => a[0] - b[0])]);
  }

  /** Runs the virtual clock for `ms`, checking glitch-freeness after every step when enabled. */
  run(ms: number): void {
    const until = this.clock.now() + ms;
    for (let steps = 0; steps < 2_000_000; steps++) {
      const next = this.clock.peekAt();
      if (next === undefined || next > until) {
        this.clock.runUntil(until);
        return;
      }
      this.clock.step();
      if (this.checkGlitches && this.keyStateChanged) this.checkGlitchFree();
    }
    throw new Error("simulation did not settle");
  }

  /** Turns all faults off and runs until every member should have converged. */
  quiet(ms: number): void {
    this.relay.faults = HONEST;
    this.run(ms);
  }

  setGlitchChecking(enabled: boolean): void {
    this.checkGlitches = enabled;
  }

  /** Clients whose current connection is an admitted member and who know it. */
  currentMembers(): SimClient[] {
    return this.clients.filter((client) => {
      const connection = client.current?.connection;
      return (
        connection?.joined === true && client.session.snapshot().connection.status === "joined"
      );
    });
  }

  /** Convergence: all current members send with the same epoch and hold the same key for it. */
  checkConvergence(): void {
    // Look at a moment with nothing on the wire (a periodic rotation may have just started).
    for (let steps = 0; this.relay.inFlight > 0 && steps < 100_000; steps++) this.clock.step();
    const members = this.currentMembers();
    const views = members.map((c) => `${c.sending}:${c.installed.get(c.sending) ?? "none"}`);
    if (new Set(views).size > 1 || views.some((v) => v.startsWith("0:"))) {
      this.violations.push(`no convergence at t=${this.clock.now()}: ${views.join(" | ")}`);
    }
    const expected = members.length;
    for (const client of members) {
      const size = client.session.snapshot().roster.length;
      if (size !== expected) {
        this.violations.push(`client ${client.index} sees ${size} members, room has ${expected}`);
      }
    }
  }

  // ---- ground truth ----

  private onAdmitted(connection: Connection): void {
    this.keyStateChanged = true;
    const client = this.clients[connection.socket.client];
    if (!client) return;
    const incarnation: Incarnation = {
      connection,
      admittedAt: this.clock.now(),
      everHeld: new Map(),
      derivable: [],
    };
    this.incarnations.set(connection.id, incarnation);
    client.current = incarnation;
  }

  private onRemoved(connection: Connection): void {
    this.keyStateChanged = true;
    const incarnation = this.incarnations.get(connection.id);
    if (incarnation) incarnation.removedAt = this.clock.now();
  }

  private onDelivering(connection: Connection, frame: ServerFrame): void {
    if (frame.type !== "member-left") return;
    const leaver = [...this.incarnations.values()]
      .filter(
        (i) => i.connection.participantId === frame.participantId && i.removedAt !== undefined,
      )
      .at(-1);
    if (!leaver) return;
    const seen = this.leavesSeen.get(connection.id) ?? new Set();
    seen.add(leaver);
    this.leavesSeen.set(connection.id, seen);
  }

  private onKeys(client: SimClient, added: readonly number[], removed: readonly number[]): void {
    this.keyStateChanged = true;
    for (const epoch of removed) client.installed.delete(epoch);
    const incarnation = client.current;
    for (const epoch of added) {
      const key = client.session.exportGroupKey(epoch);
      if (!key) continue;
      const text = toBase64url(key);
      client.installed.set(epoch, text);
      if (!incarnation) continue;
      const atEpoch = incarnation.everHeld.get(epoch) ?? new Map<string, Uint8Array>();
      atEpoch.set(text, key);
      incarnation.everHeld.set(epoch, atEpoch);
      const first = this.firstSent.get(text);
      // Forward secrecy at join: no key that was already in use before this member was admitted.
      if (first !== undefined && first < incarnation.admittedAt) {
        this.violations.push(
          `client ${client.index} got epoch ${epoch}, in use since ${first}, admitted at ${incarnation.admittedAt}`,
        );
      }
    }
  }

  private onSending(client: SimClient, epoch: number): void {
    this.keyStateChanged = true;
    client.sending = epoch;
    const incarnation = client.current;
    if (epoch === 0 || !incarnation?.connection.joined) return;
    incarnation.firstEpoch ??= epoch;
    const key = client.installed.get(epoch);
    if (key !== undefined && !this.firstSent.has(key)) this.firstSent.set(key, this.clock.now());
  }

  /** Lock-out at leave: a leader's commit after it saw a leave is underivable for that leaver. */
  private onCommit(client: SimClient, epoch: number): void {
    const connection = client.current?.connection;
    if (!connection?.joined) return;
    const raw = client.session.exportGroupKey(epoch);
    const key = raw ? toBase64url(raw) : undefined;
    if (key === undefined) {
      this.violations.push(`client ${client.index} committed epoch ${epoch} without holding it`);
      return;
    }
    for (const leaver of this.leavesSeen.get(connection.id) ?? []) {
      if (derivableAt(leaver, epoch).has(key)) {
        this.violations.push(
          `client ${client.index} committed epoch ${epoch} that leaver ${leaver.connection.participantId} can derive`,
        );
      }
    }
  }

  /** Checks every envelope frame a client sends: none may go to a ghost. */
  checkSentFrame(data: string): void {
    for (const ghost of this.ghosts) {
      if (data.includes(ghost)) this.violations.push(`a client sent an envelope to ghost ${ghost}`);
    }
  }

  private checkGlitchFree(): void {
    this.keyStateChanged = false;
    const members = this.currentMembers();
    for (const sender of members) {
      if (sender.sending === 0) continue;
      const key = sender.installed.get(sender.sending);
      for (const receiver of members) {
        if (receiver === sender) continue;
        const first = receiver.current?.firstEpoch;
        if (first === undefined || first > sender.sending) continue;
        if (receiver.installed.get(sender.sending) !== key) {
          const id = `${sender.index}>${receiver.index}@${sender.sending}`;
          if (!this.glitchesSeen.has(id)) {
            this.glitchesSeen.add(id);
            this.violations.push(
              `glitch at t=${this.clock.now()}: client ${sender.index} sends epoch ${sender.sending}, client ${receiver.index} lacks it`,
            );
          }
        }
      }
    }
  }
}

/**
 * Keys of `epoch` the (former) member can hold or compute: its own keys of that epoch plus ratchets
 * of everything it held before. Built epoch by epoch and cached, so each leaver costs a few HKDFs
 * per epoch of the run.
 */
function derivableAt(incarnation: Incarnation, epoch: number): Map<string, Uint8Array> {
  const table = incarnation.derivable;
  for (let e = table.length; e <= epoch; e++) {
    const keys = new Map<string, Uint8Array>(incarnation.everHeld.get(e) ?? []);
    for (const previous of (e > 0 ? table[e - 1] : undefined)?.values() ?? []) {
      const next = ratchetGroupKey(previous);
      keys.set(toBase64url(next), next);
    }
    table.push(keys);
  }
  return table[epoch] ?? new Map();
}

function flipBit(payload: string, bit: number): string {
  const chars = [...payload];
  const index = bit % chars.length;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char = chars[index] ?? "A";
  const position = alphabet.indexOf(char);
  // Flip one of the low bits of the 6-bit digit; skip the last char's padding bits by using bit 5.
  const flipped = alphabet[(position ^ (index === chars.length - 1 ? 32 : 1 << (bit % 6))) & 63];
  chars[index] = flipped ?? "A";
  return chars.join("");
}
