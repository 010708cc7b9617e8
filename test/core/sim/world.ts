// The simulator: many real CallSessions (the very code browsers run) on a virtual clock, talking
// through the in-memory relay. It keeps the ground truth (who was admitted when, who left, which key
// was first used when) and checks the properties of docs/key-schedule.md while the run goes on.
//
// With `adversarial: true` it also watches what every honest member DOES (issue 9), not only what
// the leader decides: the key each one sends with at every moment (its `sending` event and the group
// key of that epoch) against what every leaver can derive once the lock-out deadline has passed,
// recordings on anyone's verified roster or addressed by any envelope, epochs far above what honest
// leaders made, and exceptions escaping a session (caught like a browser's event loop would).
import { ed25519 } from "@noble/curves/ed25519.js";
import { fromBase64url, toBase64url } from "../../../web/src/core/base64url.js";
import { signBroadcast } from "../../../web/src/core/broadcast.js";
import { CallSession, type CallSessionOptions } from "../../../web/src/core/call-session.js";
import { ENVELOPE_VERSION } from "../../../web/src/core/envelope.js";
import { generateCallSecret, ratchetGroupKey } from "../../../web/src/core/identifiers.js";
import { LOOKAHEAD_RATCHETS } from "../../../web/src/core/key-store.js";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type ScheduleConfig,
} from "../../../web/src/core/schedule-types.js";
import { groupKeyOf } from "../../support/session-keys.js";
import { MaliciousMember } from "./malicious.js";
import { type Connection, type Faults, HONEST, Relay, type ServerFrame } from "./relay.js";
import { DeferredSharedSecrets } from "./deferred-shared-secrets.js";
import { DeferredSignatures } from "./deferred-signatures.js";
import { seededRandom } from "./seeded-random.js";
import { VirtualClock } from "./virtual-clock.js";

export const SIM_SCHEDULE: Partial<ScheduleConfig> = {
  ratchetIntervalMs: 5_000,
  freshEvery: 4,
};

/**
 * docs/key-schedule.md, Lock-out ("the lock-out is every member's job"): a member that saw a leave
 * stops sending with any key the leaver held once this long has passed without the fresh key and
 * its commit (issue 9: "the ack timeout plus slack"). Read from the core's config (lockoutGraceMs)
 * where it has one, else the ack timeout plus one second, so the same tests run against the core
 * before and after the fix.
 */
export const LOCKOUT_DEADLINE_MS =
  (DEFAULT_SCHEDULE_CONFIG as Partial<{ lockoutGraceMs: number }>).lockoutGraceMs ??
  DEFAULT_SCHEDULE_CONFIG.ackTimeoutMs + 1_000;

/**
 * docs/key-schedule.md, Who may make keys: epochs move forward by at most the ratchet look-ahead
 * (+ the look-ahead ratchets installed above a key) above the highest epoch an honest leader produced.
 */
export const EPOCH_STEP_BOUND =
  (SIM_SCHEDULE.maxRatchetLookahead ?? DEFAULT_SCHEDULE_CONFIG.maxRatchetLookahead) +
  LOOKAHEAD_RATCHETS;

/** A leaver ratchets forward at most this far when the checks ask what it can derive. */
const MAX_DERIVE_STEPS = 512;

export interface Incarnation {
  readonly connection: Connection;
  readonly admittedAt: number;
  removedAt?: number;
  /** First epoch this incarnation sent with. */
  firstEpoch?: number;
  /** Every group key it ever held, by epoch (text → raw), for the lock-out check. */
  readonly everHeld: Map<number, Map<string, Uint8Array>>;
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
  /** Set for a member running modified code; the properties are about the others. */
  malicious?: MaliciousMember;
  /** Security code, mirrored from the session's event. */
  securityCode: string;
}

export interface WorldOptions {
  readonly seed: number;
  readonly schedule?: Partial<ScheduleConfig>;
  readonly checkGlitches?: boolean;
  /** Turns on issue 9's checks of what every honest member does (see the file header). */
  readonly adversarial?: boolean;
  /** The virtual clock's start, in ms since 1970 (0 unless a test needs a wall-clock date). */
  readonly startAt?: number;
  /**
   * Leader broadcast signatures checked later, on the virtual clock (DeferredSignatures), as the
   * platform's check does in a browser.
   */
  readonly deferredSignatures?: boolean;
  /** The envelope channels' X25519s made later, on the virtual clock (DeferredSharedSecrets). */
  readonly deferredSharedSecrets?: boolean;
}

export class World {
  readonly clock: VirtualClock;
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
  readonly adversarial: boolean;
  /** Connection id → leaver incarnation → when this member processed its member-left. */
  private readonly leaveSeenAt = new Map<number, Map<Incarnation, number>>();
  /**
   * Highest epoch an honest leader started a rotation for (docs/key-schedule.md, Who may make
   * keys).
   */
  maxHonestEpoch = 0;
  /** (start key text) → its ratchets, index i = i steps on; shared by every derivability check. */
  private readonly chains = new Map<string, Uint8Array[]>();
  private readonly reported = new Set<string>();
  /** Tests that look at raw frames a client sends subscribe here. */
  readonly sentListeners: ((client: SimClient, connection: Connection, data: string) => void)[] =
    [];

  /** Every client's signature checks, when they are deferred (WorldOptions.deferredSignatures). */
  readonly signatures: DeferredSignatures | undefined;
  /** Every client's X25519s, when they are deferred (WorldOptions.deferredSharedSecrets). */
  readonly sharedSecrets: DeferredSharedSecrets | undefined;

  constructor(private readonly options: WorldOptions) {
    this.clock = new VirtualClock(options.startAt);
    this.random = seededRandom(options.seed);
    if (options.deferredSignatures) {
      const random = this.random;
      this.signatures = new DeferredSignatures(this.clock, () => (random(1)[0] ?? 0) % 4);
    }
    if (options.deferredSharedSecrets) {
      const random = this.random;
      this.sharedSecrets = new DeferredSharedSecrets(this.clock, () => (random(1)[0] ?? 0) % 4);
    }
    this.secret = generateCallSecret(this.random);
    this.checkGlitches = options.checkGlitches ?? false;
    this.adversarial = options.adversarial ?? false;
    this.relay = new Relay(this.clock, this.random, {
      admitted: (connection) => this.onAdmitted(connection),
      removed: (connection) => this.onRemoved(connection),
      delivering: (connection, frame) => this.onDelivering(connection, frame),
      delivered: () => {},
      sent: (connection, data) => this.onSentFrame(connection, data),
      threw: (connection, error) => {
        if (!this.adversarial) throw error;
        const client = this.clients[connection.socket.client];
        this.violations.push(
          `client ${client?.index} threw handling a frame at t=${this.clock.now()}: ${String(error)}`,
        );
      },
    });
    if (this.adversarial) {
      this.clock.onError = (error) =>
        this.violations.push(`a timer threw at t=${this.clock.now()}: ${String(error)}`);
    }
  }

  /** Reports a violation once per key (a state that persists is one finding, not thousands). */
  private violation(key: string, text: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.violations.push(text);
  }

  setFaults(faults: Faults): void {
    this.relay.faults = faults;
  }

  /** Adds a member that runs modified code: a real session plus an attacker's side channel. */
  addMalicious(): SimClient & { malicious: MaliciousMember } {
    const malicious = new MaliciousMember(
      this.secret,
      this.relay,
      this.random,
      () => this.clock.now(),
      (epoch, groupKey) => this.attackerLearnt(malicious, epoch, groupKey),
    );
    const client = this.addClient(malicious);
    return client as SimClient & { malicious: MaliciousMember };
  }

  private attackerLearnt(malicious: MaliciousMember, epoch: number, groupKey: Uint8Array): void {
    const client = this.clients.find((c) => c.malicious === malicious);
    const incarnation = client?.current;
    if (!incarnation) return;
    const atEpoch = incarnation.everHeld.get(epoch) ?? new Map<string, Uint8Array>();
    atEpoch.set(toBase64url(groupKey), groupKey.slice());
    incarnation.everHeld.set(epoch, atEpoch);
  }

  /** The URL every simulated session opens (the relay ignores it). */
  socketUrl(): string {
    return "ws://relay.invalid/v1/rooms/sim/ws";
  }

  /**
   * A new client in the call. `sameUserAs` gives it the user and device of an earlier client, as a
   * page reloaded on the same device would have: the same participant id, a new session. `extra`
   * adds session options (an ask-to-join call's admission, for one).
   */
  addClient(
    malicious?: MaliciousMember,
    sameUserAs?: SimClient,
    extra?: Pick<CallSessionOptions, "admission">,
  ): SimClient {
    const signatures = this.signatures ? { signatures: this.signatures } : {};
    const sharedSecrets = this.sharedSecrets ? { sharedSecrets: this.sharedSecrets } : {};
    const index = this.clients.length;
    const session = new CallSession({
      secret: this.secret,
      userId: `user-${sameUserAs?.index ?? index}`,
      deviceId: "sim",
      displayName: `Client ${index}`,
      socketUrl: (roomId) => `ws://relay.invalid/v1/rooms/${roomId}/ws`,
      WebSocket: this.relay.socketClassFor(index),
      clock: this.clock,
      random: malicious ? malicious.recordingRandom(this.random) : this.random,
      schedule: { ...SIM_SCHEDULE, ...this.options.schedule },
      reconnect: { maxAttempts: 50 },
      ...signatures,
      ...sharedSecrets,
      ...extra,
    });
    const client: SimClient = {
      index,
      session,
      installed: new Map(),
      sending: 0,
      status: "idle",
      left: false,
      securityCode: "",
      ...(malicious ? { malicious } : {}),
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
      if (metric.type === "rotation") this.onRotation(client, metric.epoch);
    });
    session.on("securityCode", (code) => {
      client.securityCode = code;
    });
    session.on("roster", ({ roster }) => this.checkRoster(client, roster));
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
    const busy = () =>
      this.relay.inFlight > 0 ||
      (this.signatures?.pending ?? 0) > 0 ||
      (this.sharedSecrets?.pending ?? 0) > 0;
    for (let steps = 0; busy() && steps < 100_000; steps++) this.clock.step();
    const current = this.currentMembers();
    // Issue 9: convergence is the honest members' promise; the room's own count is the truth.
    const members = this.adversarial ? current.filter((c) => !c.malicious) : current;
    const views = members.map((c) => `${c.sending}:${c.installed.get(c.sending) ?? "none"}`);
    if (new Set(views).size > 1 || views.some((v) => v.startsWith("0:"))) {
      this.violations.push(`no convergence at t=${this.clock.now()}: ${views.join(" | ")}`);
    }
    if (this.adversarial) {
      const codes = new Set(members.map((c) => c.securityCode));
      if (codes.size > 1) {
        this.violations.push(
          `security codes differ at t=${this.clock.now()}: ${members.map((c) => `${c.index}=${c.securityCode}`).join(" | ")}`,
        );
      }
      for (const client of this.clients) {
        if (client.left || client.malicious || members.includes(client)) continue;
        this.violations.push(
          `client ${client.index} has not left but is no member at t=${this.clock.now()} (status ${client.status})`,
        );
      }
    }
    const expected = this.adversarial ? this.relay.members().length : members.length;
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
    this.clients[connection.socket.client]?.malicious?.observeDelivering(connection, frame);
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
    if (!this.adversarial) return;
    const seenAt = this.leaveSeenAt.get(connection.id) ?? new Map<Incarnation, number>();
    if (!seenAt.has(leaver)) seenAt.set(leaver, this.clock.now());
    this.leaveSeenAt.set(connection.id, seenAt);
    const client = this.clients[connection.socket.client];
    // One millisecond after the deadline, so the member's own deadline timer (armed when it handles
    // this very frame, i.e. after this check was scheduled) has run first.
    if (client) this.clock.setTimeout(() => this.checkLockout(client), LOCKOUT_DEADLINE_MS + 1);
  }

  /** Every frame a client sends, as it leaves the client. */
  private onSentFrame(connection: Connection, data: string): void {
    this.checkSentFrame(data);
    const client = this.clients[connection.socket.client];
    if (client) for (const listener of this.sentListeners) listener(client, connection, data);
    client?.malicious?.observeSent(connection, data);
    if (!this.adversarial || !client || client.malicious) return;
    const frame = JSON.parse(data) as {
      type: string;
      messages?: { to: string; payload: string }[];
    };
    for (const item of frame.messages ?? []) {
      // Key envelopes only: a liveness challenge to an unproven member carries no key.
      // Sent to the incarnation this client still believes in (the relay hid its leave) is the
      // same membership lie as above, not an envelope to the recording.
      const listed = client.session.snapshot().roster.find((r) => r.participantId === item.to);
      const original = listed !== undefined && listed.seq !== this.relay.replayed.get(item.to)?.seq;
      if (isEnvelope(item.payload) && this.isRecording(item.to) && !original) {
        this.violation(
          `envelope>${client.index}>${item.to}`,
          `client ${client.index} sent an envelope to replayed recording ${item.to} at t=${this.clock.now()}`,
        );
      }
    }
  }

  /** A participant id the relay replays from a recording and that no live connection holds. */
  isRecording(participantId: string): boolean {
    return (
      this.relay.replayed.has(participantId) &&
      !this.relay.members().some((m) => m.participantId === participantId)
    );
  }

  private checkRoster(
    client: SimClient,
    roster: readonly { participantId: string; seq: number; self: boolean; leader: boolean }[],
  ): void {
    if (!this.adversarial || client.malicious) return;
    for (const entry of roster) {
      // The entry must be the replayed incarnation: a member that still lists the original (the
      // relay hid its leave from it) is a membership lie the security code shows, not a recording.
      const replayed = this.relay.replayed.get(entry.participantId);
      if (entry.self || !this.isRecording(entry.participantId) || replayed?.seq !== entry.seq) {
        continue;
      }
      this.violation(
        `roster>${client.index}>${entry.participantId}`,
        `client ${client.index} lists replayed recording ${entry.participantId} (seq ${entry.seq}) as verified${entry.leader ? ", as its leader" : ""} at t=${this.clock.now()}`,
      );
    }
  }

  /** The leader began a rotation: an honest one may step at most EPOCH_STEP_BOUND above the last. */
  private onRotation(client: SimClient, epoch: number): void {
    if (!this.adversarial || client.malicious) return;
    if (epoch > this.maxHonestEpoch + EPOCH_STEP_BOUND) {
      this.violation(
        `rotation>${client.index}>${epoch}`,
        `client ${client.index} rotated to epoch ${epoch}, honest leaders had reached ${this.maxHonestEpoch}`,
      );
    }
    this.maxHonestEpoch = Math.max(this.maxHonestEpoch, epoch);
  }

  /**
   * docs/key-schedule.md, Lock-out, by what the member does: once LOCKOUT_DEADLINE_MS has passed
   * since it saw a leave, an honest member sends with nothing or with a key that leaver cannot
   * derive.
   */
  checkLockout(client: SimClient): void {
    const incarnation = client.current;
    if (client.malicious || !incarnation?.connection.joined) return;
    const seen = this.leaveSeenAt.get(incarnation.connection.id);
    if (!seen) return;
    const now = this.clock.now();
    for (const [leaver, seenAt] of seen) {
      if (now < seenAt + LOCKOUT_DEADLINE_MS) continue;
      const who = `leaver ${leaver.connection.participantId} (seen leaving at t=${seenAt})`;
      const key = client.installed.get(client.sending);
      if (
        client.sending !== 0 &&
        key !== undefined &&
        this.canDerive(leaver, client.sending, key)
      ) {
        this.violation(
          `lockout>${client.index}>${leaver.connection.id}>${client.sending}`,
          `client ${client.index} sends with epoch ${client.sending} at t=${now}, which ${who} can derive`,
        );
      }
      // The receiving side: no frame under a key the leaver can derive is accepted either, so the
      // leaver (with the SFU) cannot have media accepted in another member's name.
      for (const [epoch, held] of client.installed) {
        if (!this.canDerive(leaver, epoch, held)) continue;
        this.violation(
          `lockout-receive>${client.index}>${leaver.connection.id}>${epoch}`,
          `client ${client.index} accepts frames under epoch ${epoch} at t=${now}, which ${who} can derive`,
        );
      }
    }
  }

  /** Whether the (former) member can hold or ratchet to `keyText` at `epoch`. */
  canDerive(incarnation: Pick<Incarnation, "everHeld">, epoch: number, keyText: string): boolean {
    for (const [heldEpoch, keys] of incarnation.everHeld) {
      const steps = epoch - heldEpoch;
      if (steps < 0 || steps > MAX_DERIVE_STEPS) continue;
      for (const [text, raw] of keys) {
        if (steps === 0 && text === keyText) return true;
        if (steps > 0 && toBase64url(this.ratchetOf(text, raw, steps)) === keyText) return true;
      }
    }
    return false;
  }

  private ratchetOf(text: string, raw: Uint8Array, steps: number): Uint8Array {
    const chain = this.chains.get(text) ?? [raw];
    this.chains.set(text, chain);
    while (chain.length <= steps) {
      const last = chain[chain.length - 1];
      if (!last) break;
      chain.push(ratchetGroupKey(last));
    }
    return chain[steps] ?? raw;
  }

  /** Checks the epochs an honest member holds and sends with stay a bounded step above honest ones. */
  private checkEpochBound(client: SimClient): void {
    if (!this.adversarial || client.malicious) return;
    const limit = this.maxHonestEpoch + EPOCH_STEP_BOUND;
    const highest = Math.max(client.sending, ...client.installed.keys());
    if (highest > limit) {
      this.violation(
        `epoch>${client.index}`,
        `client ${client.index} holds or sends epoch ${highest} at t=${this.clock.now()}, honest leaders reached ${this.maxHonestEpoch}`,
      );
    }
  }

  private onKeys(client: SimClient, added: readonly number[], removed: readonly number[]): void {
    this.keyStateChanged = true;
    for (const epoch of removed) client.installed.delete(epoch);
    const incarnation = client.current;
    for (const epoch of added) {
      const key = groupKeyOf(client.session, epoch);
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
    this.checkEpochBound(client);
    if (this.adversarial && added.length > 0) this.checkLockout(client);
  }

  private onSending(client: SimClient, epoch: number): void {
    this.keyStateChanged = true;
    client.sending = epoch;
    if (this.adversarial) {
      this.checkLockout(client);
      this.checkEpochBound(client);
    }
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
    const raw = groupKeyOf(client.session, epoch);
    const key = raw ? toBase64url(raw) : undefined;
    if (key === undefined) {
      this.violations.push(`client ${client.index} committed epoch ${epoch} without holding it`);
      return;
    }
    for (const leaver of this.leavesSeen.get(connection.id) ?? []) {
      // Bounded ratchet search (canDerive): a pinned epoch such as 2^32-1 must not make the check
      // itself walk billions of epochs.
      if (this.canDerive(leaver, epoch, key)) {
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

/** Envelopes start with their version byte; other unicast payloads (hellos) do not. */
export function isEnvelope(payload: string): boolean {
  try {
    return fromBase64url(payload)[0] === ENVELOPE_VERSION;
  } catch {
    return false;
  }
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
