// The one object a client (browser tab, Node load generator, test) holds per call. It composes the
// parts and exposes plain observable state: the signalling client (signalling-client.ts), the
// verified roster with its liveness hellos (verified-roster.ts), the key transport over envelopes
// and broadcasts (key-transport.ts) and the key schedule (key-schedule.ts), which it feeds and whose
// actions it carries out. All crypto stays inside; the media layer asks for sender keys by epoch.
import type { LiveKitGrant, Member } from "../../../protocol/signalling.js";
import { Admission, type MemberKeyPair } from "./admission.js";
import { createAnnouncement } from "./announcement.js";
import { assertNever } from "../../../protocol/guards.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import { ChatChannel } from "./chat.js";
import { isChatMessage, type Reaction } from "./chat-message.js";
import { type CallContext, callContextOf, generateCallKeyPairs } from "./call-keys.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { Emitter, type Unsubscribe } from "./emitter.js";
import { InboundOrder } from "./inbound-order.js";
import { type CallSecret, keyCheckOf, participantIdOf, senderKeyOf } from "./identifiers.js";
import { KeySchedule } from "./key-schedule.js";
import { KeyTransport, type Unicast } from "./key-transport.js";
import { isMembershipState } from "./membership-state.js";
import type { OwnIncarnation } from "./peer.js";
import { type Random, systemRandom } from "./random.js";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type ScheduleAction,
  type ScheduleConfig,
  type ScheduleEvent,
} from "./schedule-types.js";
import { securityCodeKeyOf, securityCodeWith } from "./security-code.js";
import { createSessionCounters } from "./session-counters.js";
import type {
  AdmissionState,
  RosterEntry,
  CallSessionEvents,
  CallSessionState,
  ConnectionState,
  SendingState,
  SessionMetrics,
} from "./session-types.js";
import {
  DEFAULT_RECONNECT_POLICY,
  type ReconnectPolicy,
  SignallingClient,
  type SocketConstructor,
} from "./signalling-client.js";
import type { SharedSecretDeriver } from "./shared-secrets.js";
import { javascriptVerifier, type SignatureVerifier } from "./signature-verifier.js";
import { VerifiedRoster } from "./verified-roster.js";

export interface CallSessionOptions {
  readonly secret: CallSecret;
  readonly userId: string;
  readonly deviceId: string;
  readonly displayName: string;
  /** http(s) origin of the Worker; the room URL is {origin}/v1/rooms/{roomId}/ws over ws(s). */
  readonly workerOrigin?: string;
  /** Overrides workerOrigin: builds the WebSocket URL for a room id. */
  readonly socketUrl?: (roomId: string) => string;
  /** The browser's WebSocket, or `ws` in Node. */
  readonly WebSocket: SocketConstructor;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly schedule?: Partial<ScheduleConfig>;
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** An ask-to-join call (docs/admission.md): absent for a call without a host. */
  readonly admission?: AdmissionConfig;
  /**
   * Checks the leader's broadcast signatures (platformSignatureVerifier: native, off the main
   * thread); absent, they are checked in JavaScript at once. Frames stay in order either way.
   */
  readonly signatures?: SignatureVerifier;
  /**
   * Makes the envelope channels' X25519s (platformSharedSecrets: native, off the main thread)
   * ahead of their first hello; absent, each is made in JavaScript on first use. Same keys either way.
   */
  readonly sharedSecrets?: SharedSecretDeriver;
}

export interface AdmissionConfig {
  /** The host's Ed25519 public key, from the invite link. */
  readonly hostKey: Uint8Array;
  /** This device's member key for the call (on the host's device, the host key itself). */
  readonly memberKey: MemberKeyPair;
  /** The newest membership state this device stored for the call (the `admission` event's). */
  readonly storedState?: Uint8Array;
}

/** Builds the room WebSocket URL from a Worker origin such as "https://hush.example". */
export function roomSocketUrl(workerOrigin: string, roomId: string): string {
  const url = new URL(workerOrigin);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  url.pathname = `/v1/rooms/${roomId}/ws`;
  url.search = "";
  url.hash = "";
  return url.toString();
}

/** A waiting joiner knocks again this often, this many times, in case a knock was lost. */
const KNOCK_RETRY_MS = 4_000;
const KNOCK_RETRIES = 30;
const STALE_ANSWER_SPACING_MS = 1_000;
/**
 * The security code follows the roster this long after a change: a burst of joins (a big call
 * filling up) costs one code instead of one each, and hashing the roster (17 KB at 200 members)
 * never runs in front of the key messages the same change brings. Far below what a person reading
 * the code aloud could notice.
 */
const SECURITY_CODE_SETTLE_MS = 100;
/** An unchanged wake timer is re-armed from the clock at most this often (armWakeTimer). */
const WAKE_REARM_MS = 1_000;

export class CallSession {
  readonly roomId: string;
  readonly participantId: string;
  private readonly context: CallContext;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly schedule: KeySchedule;
  private readonly signalling: SignallingClient;
  private readonly roster: VerifiedRoster;
  private readonly transport: KeyTransport;
  private readonly chat: ChatChannel;
  private readonly admission: Admission | undefined;
  private admissionTimer: TimerHandle | undefined;
  /** Knocks the host and co-hosts received: participant id → the incarnation's seq and name. */
  private readonly knocks = new Map<string, { seq: number; displayName: string }>();
  /** The host and co-host incarnations we knocked at while waiting ("id:seq"). */
  private readonly knockedAt = new Set<string>();
  private knockTimer: TimerHandle | undefined;
  private knockRetries = 0;
  private staleAnsweredAt = Number.NEGATIVE_INFINITY;
  private readonly emitter = new Emitter<CallSessionEvents>();
  /** Our key pairs and announcement on the current connection (renewed by each join request). */
  private readonly own: OwnIncarnation;
  private connection: ConnectionState = { status: "idle" };
  private grant: LiveKitGrant | undefined;
  private sending: SendingState = { epoch: 0, at: 0 };
  /**
   * Group keys by epoch. Nothing shipped hands one out (the media layer gets sender keys); tests
   * that compare key state across clients read this field through test/support/session-keys.ts.
   */
  private readonly installed = new Map<number, Uint8Array>();
  private securityCode = "";
  private securityCodeTimer: TimerHandle | undefined;
  /** HKDF of the call secret, the same all call long. */
  private securityCodeKey: Uint8Array | undefined;
  private wakeTimer: TimerHandle | undefined;
  /** The wake time the timer was armed for, and when (clock time). */
  private wakeAt: number | undefined;
  private wakeArmedAt = 0;
  private joinWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private tokenWaiters: { resolve: (grant: LiveKitGrant) => void; reject: (e: Error) => void }[] =
    [];
  private readonly counters = createSessionCounters();
  /**
   * The room's frames in the socket's order, while a broadcast's signature check is pending. Too
   * many behind one check, and the connection is given up: the reconnect starts from a welcome.
   */
  private readonly inbound = new InboundOrder(() => {
    this.counters.inboundOverflows += 1;
    this.signalling.dropSocket();
  });

  constructor(private readonly options: CallSessionOptions) {
    this.context = callContextOf(options.secret);
    this.roomId = this.context.roomId;
    this.participantId = participantIdOf(options.secret, options.userId, options.deviceId);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.own = {
      keyPairs: generateCallKeyPairs(this.random, this.counters.curveOps),
      announcement: new Uint8Array(),
    };
    // Fail early (and clearly) on a display name the announcement cannot carry.
    createAnnouncement(
      this.context,
      this.participantId,
      this.own.keyPairs,
      options.displayName,
      this.random,
    );
    this.admission = options.admission
      ? new Admission({
          roomId: this.roomId,
          hostKey: options.admission.hostKey,
          member: options.admission.memberKey,
          ...(options.admission.storedState ? { stored: options.admission.storedState } : {}),
          ops: this.counters.curveOps,
        })
      : undefined;
    this.schedule = new KeySchedule(
      { ...DEFAULT_SCHEDULE_CONFIG, ...options.schedule },
      this.random,
    );
    const url = options.socketUrl
      ? options.socketUrl(this.roomId)
      : options.workerOrigin
        ? roomSocketUrl(options.workerOrigin, this.roomId)
        : undefined;
    if (url === undefined) throw new Error("CallSession needs workerOrigin or socketUrl");
    this.signalling = new SignallingClient(
      url,
      options.WebSocket,
      this.clock,
      {
        joinRequest: () => this.joinRequest(),
        welcome: (welcome) => {
          // A welcome for someone else, or one that lists us among the others, is a lie: refuse it
          // whole (the socket is closed at once, so the answer cannot wait for the queue).
          const self = welcome.self.participantId;
          if (
            self !== this.participantId ||
            welcome.members.some((m) => m.participantId === self)
          ) {
            this.counters.welcomesRefused += 1;
            return false;
          }
          this.inbound.run(() =>
            this.onWelcome(welcome.self.seq, welcome.members, welcome.livekit),
          );
          return true;
        },
        memberJoined: (member) =>
          this.inbound.run(() => {
            this.roster.memberJoined(member);
            // Whoever joins learns the state from the call's authorities (docs/admission.md).
            this.announceAdmissionSoon();
          }),
        memberLeft: (participantId, seq) => {
          // A leave behind a slow check still starts its lock-out deadline now (the leaver's key
          // is not kept on for as long as the platform takes).
          if (this.inbound.holding) this.feed({ type: "departure-heard", participantId, seq });
          this.inbound.run(() => this.roster.memberLeft(participantId, seq));
        },
        message: (from, payload) => this.inbound.run(() => this.onEnvelope(from, payload)),
        broadcast: (from, payload) => this.inbound.run(() => this.onBroadcast(from, payload)),
        token: (grant) => this.inbound.run(() => this.onGrant(grant)),
        serverError: () => {},
        status: (status, error) => this.onStatus({ status, ...(error ? { error } : {}) }),
        lost: () => {
          // What the dead socket delivered and nobody handled yet counts as lost with it.
          this.inbound.reset();
          this.onLost();
        },
      },
      { ...DEFAULT_RECONNECT_POLICY, ...options.reconnect },
    );
    this.roster = new VerifiedRoster({
      context: this.context,
      participantId: this.participantId,
      displayName: options.displayName,
      clock: this.clock,
      own: this.own,
      counters: this.counters,
      feed: (event) => this.feed(event),
      changed: () => this.rosterChanged(),
      sendHellos: (hellos) => this.signalling.send(hellos),
      ...(options.sharedSecrets ? { sharedSecrets: options.sharedSecrets } : {}),
      ...(this.admission ? { admission: this.admissionGate(this.admission) } : {}),
    });
    this.transport = new KeyTransport({
      roomId: this.roomId,
      participantId: this.participantId,
      random: this.random,
      own: this.own,
      counters: this.counters,
      roster: this.roster,
      send: (messages) => this.signalling.send(messages),
      broadcast: (payload) => this.signalling.broadcast(payload),
      knocked: (from, displayName) => this.onKnock(from, displayName),
    });
    this.chat = new ChatChannel({
      parties: { roomId: this.roomId, senderId: this.participantId },
      displayName: options.displayName,
      clock: this.clock,
      random: this.random,
      own: this.own,
      counters: this.counters,
      roster: this.roster,
      groupKey: (epoch) => this.installed.get(epoch),
      installedEpochs: () => [...this.installed.keys()],
      sendingEpoch: () => this.sending.epoch,
      broadcast: (payload) => this.signalling.broadcast(payload),
      changed: {
        log: (entries) => this.emitter.emit("chat", entries),
        reaction: (reaction) => this.emitter.emit("reaction", reaction),
        hands: (raised) => this.emitter.emit("hands", raised),
        names: () => this.rosterChanged(),
      },
      sendsName: this.admission !== undefined,
    });
  }

  // ---- public API ----

  /** Connects and resolves once admitted (rejects if the room refuses for good). */
  join(): Promise<void> {
    if (this.connection.status === "joined") return Promise.resolve();
    if (this.connection.status === "closed") {
      return Promise.reject(new Error("this session is closed; create a new one"));
    }
    const joined = new Promise<void>((resolve, reject) => {
      this.joinWaiters.push({ resolve, reject });
    });
    this.signalling.connect();
    return joined;
  }

  leave(): void {
    this.signalling.leave();
  }

  /** Asks the Worker for a fresh LiveKit token (the welcome carries the first one). */
  requestToken(): Promise<LiveKitGrant> {
    if (!this.signalling.requestToken()) return Promise.reject(new Error("not joined"));
    return new Promise((resolve, reject) => this.tokenWaiters.push({ resolve, reject }));
  }

  on<K extends keyof CallSessionEvents>(
    event: K,
    listener: (value: CallSessionEvents[K]) => void,
  ): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  snapshot(): CallSessionState {
    return {
      roomId: this.roomId,
      participantId: this.participantId,
      connection: this.connection,
      roster: this.rosterEntries(),
      unverified: this.roster.unverifiedIds(),
      pending: this.roster.pendingIds(),
      conflicts: this.roster.conflictIds(),
      grant: this.grant,
      sending: this.sending,
      keys: [...this.installed.keys()].sort((a, b) => a - b),
      securityCode: this.securityCode,
      chat: this.chat.log(),
      hands: this.chat.raisedHands(),
      admission: this.admissionState(),
    };
  }

  /**
   * Lets a waiting participant in (host and co-hosts only). False when this device may not, the id
   * is not a proven participant with a member key, or it is admitted already.
   */
  admit(participantId: string): boolean {
    return this.changeAdmission(participantId, (admission, key) => admission.admit(key));
  }

  /** Declines a waiting participant: it is told and gets nothing. */
  decline(participantId: string): boolean {
    return this.changeAdmission(participantId, (admission, key) => admission.decline(key));
  }

  /**
   * Removes an admitted participant: locked out exactly as if it had left (a fresh key without it,
   * the same deadline), and never keyed again without a new admission.
   */
  remove(participantId: string): boolean {
    return this.changeAdmission(participantId, (admission, key) => admission.remove(key));
  }

  /** The host appoints an admitted member co-host: it may admit, decline and remove. */
  appointCohost(participantId: string): boolean {
    return this.changeAdmission(participantId, (admission, key) => admission.appointCohost(key));
  }

  /** K_{e,P} for an installed epoch, or undefined when this client holds no key for `epoch`. */
  senderKey(epoch: number, participantId: string): Uint8Array | undefined {
    const groupKey = this.installed.get(epoch);
    return groupKey ? senderKeyOf(groupKey, participantId) : undefined;
  }

  /**
   * The public check of an installed epoch's key (keyCheckOf, as commits carry it), base64url; the
   * media worker names its replay windows by it, so that the same key bytes always meet the same
   * windows. Undefined when this client holds no key for `epoch`.
   */
  keyCheck(epoch: number): string | undefined {
    const groupKey = this.installed.get(epoch);
    return groupKey ? toBase64url(keyCheckOf(groupKey)) : undefined;
  }

  /**
   * Sends a chat line under the current sending epoch (docs/chat.md); queued until there is one.
   * False when it is empty, longer than 2,000 characters, or the outbox is full.
   */
  sendChat(text: string): boolean {
    return this.chat.sendText(text);
  }

  /** Sends a reaction to everyone; false when there is no key to send with right now. */
  react(emoji: Reaction): boolean {
    return this.chat.react(emoji);
  }

  /** Raises or lowers this member's hand. */
  setHand(up: boolean): void {
    this.chat.setHand(up);
  }

  /** True when `participantId` is on the verified roster (LiveKit identities not on it are intruders). */
  isVerified(participantId: string): boolean {
    return this.roster.isVerified(participantId);
  }

  /** The media layer saw decrypt failures for over a second: ask the leader for the current key. */
  reportDecryptFailures(): void {
    this.feed({ type: "decrypt-failures" });
  }

  metrics(): SessionMetrics {
    return structuredClone(this.counters);
  }

  /** Simulates a network failure (tests): the session reconnects on its own. */
  dropConnection(): void {
    this.signalling.dropSocket();
  }

  // ---- signalling events ----

  private joinRequest(): { participantId: string; announcement: string } {
    // Every connection is a new membership: fresh key pairs, so nothing from the old one carries over.
    this.own.keyPairs = generateCallKeyPairs(this.random, this.counters.curveOps);
    const announcement = createAnnouncement(
      this.context,
      this.participantId,
      this.own.keyPairs,
      // In an ask-to-join call the announcement names nobody: the link opens it, and a waiting
      // joiner has the link (docs/admission.md, Names).
      this.options.admission ? "" : this.options.displayName,
      this.random,
      this.options.admission?.memberKey,
      this.counters.curveOps,
    );
    this.own.announcement = announcement;
    return { participantId: this.participantId, announcement: toBase64url(announcement) };
  }

  private onWelcome(seq: number, members: readonly Member[], grant: LiveKitGrant): void {
    this.grant = grant;
    this.emitter.emit("grant", grant);
    // The roster tells the schedule we joined (at once, or in an ask-to-join call once admitted).
    this.roster.welcome(seq, members);
    this.rosterChanged();
    this.announceAdmissionSoon();
    for (const waiter of this.joinWaiters.splice(0)) waiter.resolve();
  }

  private onEnvelope(from: string, payload: string): void {
    const message = this.transport.receive(from, payload);
    if (message) this.feed({ type: "key-message", from, message });
  }

  /** A broadcast is a chat message (chat.ts) or one of the leader's (key-transport.ts). */
  private onBroadcast(from: string, payload: string): void {
    let bytes: Uint8Array | undefined;
    try {
      bytes = fromBase64url(payload);
    } catch {
      bytes = undefined;
    }
    if (bytes && isChatMessage(bytes)) {
      this.chat.receive(from, bytes);
      return;
    }
    if (bytes && isMembershipState(bytes)) {
      // Anyone may relay a state: only its signatures count, never who sent it.
      const offered = this.admission?.offer(bytes);
      if (offered === "taken") this.admissionChanged();
      // Its sender is behind (a host back from a reload, say): tell it what we hold.
      else if (offered === "stale") this.answerStaleState();
      return;
    }
    const unchecked = this.transport.readBroadcast(from, bytes, (body) =>
      this.schedule.considers(from, body),
    );
    if (!unchecked) return;
    const verifier = this.options.signatures ?? javascriptVerifier;
    // The frames behind it wait for the check, so the schedule sees them in the socket's order.
    this.inbound.hold((answer) =>
      this.transport.checkBroadcast(verifier, unchecked, (body) =>
        answer(() => {
          if (body) this.feed({ type: "broadcast", from, body });
        }),
      ),
    );
  }

  private onGrant(grant: LiveKitGrant): void {
    this.grant = grant;
    this.emitter.emit("grant", grant);
    for (const waiter of this.tokenWaiters.splice(0)) waiter.resolve(grant);
  }

  private onStatus(state: ConnectionState): void {
    this.connection = state;
    this.emitter.emit("connection", state);
    if (state.status === "closed") {
      const error = new Error(state.error?.message ?? "session closed");
      for (const waiter of this.joinWaiters.splice(0)) waiter.reject(error);
      for (const waiter of this.tokenWaiters.splice(0)) waiter.reject(error);
    }
  }

  private onLost(): void {
    this.feed({ type: "reset" });
    // No membership, no key: the media layer must stop sending until the rejoin brings a new one.
    if (this.sending.epoch !== 0) {
      this.sending = { epoch: 0, at: this.clock.now() };
      this.emitter.emit("sending", this.sending);
    }
    this.roster.lost();
    this.chat.lost();
    this.grant = undefined;
    this.rosterChanged();
  }

  // ---- admission (docs/admission.md) ----

  /**
   * The verified roster; in an ask-to-join call with the names members sent under a key (until a
   * member's arrives, its name is empty: the UI says so).
   */
  private rosterEntries(): RosterEntry[] {
    const entries = this.roster.entries(this.schedule.leaderId());
    if (!this.admission) return entries;
    return entries.map((entry) =>
      entry.self ? entry : { ...entry, displayName: this.chat.nameOf(entry.participantId) ?? "" },
    );
  }

  private onKnock(from: string, displayName: string): void {
    const peer = this.roster.waitingPeer(from);
    if (!peer || !this.admission?.isAuthority()) return;
    this.knocks.set(from, { seq: peer.seq, displayName });
    this.rosterChanged();
  }

  /**
   * While we wait, we knock once at each host and co-host incarnation we have proven (our name in
   * an envelope only it opens), and again every few seconds in case the relay lost one.
   */
  private knockAtDoors(): void {
    const admission = this.admission;
    if (admission?.status() !== "waiting") return;
    let sent = false;
    for (const { participantId, seq, memberKey } of this.roster.provenMemberKeys()) {
      if (!admission.isHostKey(memberKey) && !admission.isCohost(memberKey)) continue;
      const door = `${participantId}:${seq}`;
      if (this.knockedAt.has(door)) continue;
      if (this.transport.knock(participantId, this.options.displayName)) {
        this.knockedAt.add(door);
        sent = true;
      }
    }
    if (sent && this.knockTimer === undefined) this.armKnockRetry();
  }

  private armKnockRetry(): void {
    if (this.knockRetries >= KNOCK_RETRIES) return;
    this.knockTimer = this.clock.setTimeout(() => {
      this.knockTimer = undefined;
      this.knockRetries += 1;
      this.knockedAt.clear();
      this.knockAtDoors();
    }, KNOCK_RETRY_MS);
  }

  private admissionGate(admission: Admission) {
    return {
      admits: (key: Uint8Array | undefined) => admission.admits(key),
      selfAdmitted: () => admission.status() === "admitted",
    };
  }

  private admissionState(): AdmissionState | undefined {
    const admission = this.admission;
    if (!admission) return undefined;
    const keyOf = (id: string) =>
      id === this.participantId
        ? this.options.admission?.memberKey.publicKey
        : this.roster.memberKeyOf(id);
    const ids = this.roster.entries(undefined).map((entry) => entry.participantId);
    const hosts = ids.filter((id) => {
      const key = keyOf(id);
      return key !== undefined && admission.isHostKey(key);
    });
    const cohosts = ids.filter((id) => {
      const key = keyOf(id);
      return key !== undefined && admission.isCohost(key);
    });
    return {
      status: admission.status(),
      role: admission.role(),
      version: admission.version,
      // Only the host and co-hosts are asked; for everyone else the list stays empty.
      waiting: admission.isAuthority()
        ? this.roster
            .waiting()
            .filter((peer) => peer.memberKey && !admission.declines(peer.memberKey))
            .map(({ participantId, seq }) => {
              const knock = this.knocks.get(participantId);
              const displayName = knock?.seq === seq ? knock.displayName : "";
              return { participantId, seq, displayName };
            })
        : [],
      hosts,
      cohosts,
      stateBytes: admission.stateBytes ? toBase64url(admission.stateBytes) : undefined,
    };
  }

  private changeAdmission(
    participantId: string,
    change: (admission: Admission, key: Uint8Array) => boolean,
  ): boolean {
    const key = this.roster.memberKeyOf(participantId);
    if (!this.admission || !key || !change(this.admission, key)) return false;
    this.announceAdmission();
    this.admissionChanged();
    return true;
  }

  /** The held state changed: apply it to the roster and the schedule, and tell the app. */
  private admissionChanged(): void {
    if (!this.roster.admissionChanged()) {
      // Removed: drop every key at once (the others lock us out on their side regardless).
      this.feed({ type: "reset" });
    }
    this.rosterChanged();
  }

  /**
   * The host and co-hosts send the state when someone joins (it may be waiting, or a member who
   * reconnected) and when we join; one broadcast per turn of the event loop however many joined.
   */
  private announceAdmissionSoon(): void {
    if (!this.admission?.isAuthority() || this.admissionTimer !== undefined) return;
    this.admissionTimer = this.clock.setTimeout(() => {
      this.admissionTimer = undefined;
      this.announceAdmission();
    }, 0);
  }

  /**
   * The host, the co-hosts and the key leader answer a valid but older state with the one they
   * hold, at most once per STALE_ANSWER_SPACING_MS, so a replayed old state costs a few
   * broadcasts at most.
   */
  private answerStaleState(): void {
    const admission = this.admission;
    if (!admission) return;
    const leader = this.schedule.leaderId() === this.participantId;
    if (!admission.isAuthority() && !leader) return;
    const now = this.clock.now();
    if (now - this.staleAnsweredAt < STALE_ANSWER_SPACING_MS) return;
    this.staleAnsweredAt = now;
    const bytes = admission.stateBytes;
    if (bytes) this.signalling.broadcast(toBase64url(bytes));
  }

  private announceAdmission(): void {
    const bytes = this.admission?.isAuthority() ? this.admission.stateBytes : undefined;
    if (bytes) this.signalling.broadcast(toBase64url(bytes));
  }

  // ---- the key schedule's actions ----

  /**
   * Hands one event to the schedule and carries out its actions. A failure in either is counted and
   * contained: the wake timer is armed again whatever happened, so the leader's rotations and every
   * member's lock-out deadlines keep running (an exception must never stop the timers).
   */
  private feed(event: ScheduleEvent): void {
    try {
      this.carryOut(this.schedule.handle(event, this.clock.now()));
    } catch {
      this.counters.scheduleErrors += 1;
    } finally {
      this.armWakeTimer();
    }
  }

  private armWakeTimer(): void {
    const at = this.schedule.nextWakeAt();
    const now = this.clock.now();
    // The clock's now() is the wall clock, which can jump, so the delay is recomputed from it on
    // later events; but a timer for the same wake time armed within the last second is kept: a
    // rotation's n-2 acknowledgements would otherwise each clear and set one.
    if (
      this.wakeTimer !== undefined &&
      at === this.wakeAt &&
      now >= this.wakeArmedAt &&
      now - this.wakeArmedAt < WAKE_REARM_MS
    ) {
      return;
    }
    if (this.wakeTimer !== undefined) this.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = at;
    this.wakeArmedAt = now;
    if (at === undefined) return;
    this.wakeTimer = this.clock.setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.feed({ type: "tick" });
      },
      Math.max(0, at - now),
    );
  }

  private carryOut(actions: readonly ScheduleAction[]): void {
    const now = this.clock.now();
    const outgoing: Unicast[] = [];
    const added: number[] = [];
    const removed: number[] = [];
    let switched = false;
    for (const action of actions) {
      switch (action.type) {
        case "send": {
          const envelope = this.transport.seal(action.to, action.message);
          if (envelope) outgoing.push(envelope);
          break;
        }
        case "broadcast":
          this.transport.send(outgoing);
          this.transport.broadcast(action.body);
          break;
        case "install":
          this.installed.set(action.epoch, action.groupKey);
          added.push(action.epoch);
          this.emitter.emit("metric", { type: "key-in-hand", epoch: action.epoch, at: now });
          break;
        case "retire":
          this.installed.delete(action.epoch);
          removed.push(action.epoch);
          break;
        case "switch":
          this.sending = { epoch: action.epoch, at: now };
          switched = true;
          this.emitter.emit("metric", { type: "switch", epoch: action.epoch, at: now });
          break;
        case "rotation":
          this.emitter.emit("metric", {
            type: "rotation",
            epoch: action.epoch,
            fresh: action.fresh,
            reason: action.reason,
            recipients: action.recipients,
            at: now,
          });
          break;
        case "commit":
          this.emitter.emit("metric", {
            type: "commit",
            epoch: action.epoch,
            acked: action.acked,
            timedOut: action.timedOut,
            at: now,
          });
          break;
        default:
          assertNever(action);
      }
    }
    this.transport.send(outgoing);
    if (added.length > 0 || removed.length > 0) {
      this.emitter.emit("keys", {
        epochs: [...this.installed.keys()].sort((a, b) => a - b),
        added: added.filter((epoch) => this.installed.has(epoch)),
        removed: removed.filter((epoch) => !this.installed.has(epoch)),
      });
      this.chat.keysChanged();
    }
    if (switched) {
      this.emitter.emit("sending", this.sending);
      this.chat.sendingChanged(this.sending.epoch);
    }
  }

  private rosterChanged(): void {
    this.chat.rosterChanged();
    const admission = this.admissionState();
    if (admission) this.emitter.emit("admission", admission);
    this.knockAtDoors();
    const roster = this.rosterEntries();
    this.emitter.emit("roster", {
      roster,
      unverified: this.roster.unverifiedIds(),
      pending: this.roster.pendingIds(),
      conflicts: this.roster.conflictIds(),
    });
    if (this.securityCodeTimer === undefined) {
      this.securityCodeTimer = this.clock.setTimeout(() => {
        this.securityCodeTimer = undefined;
        this.refreshSecurityCode();
      }, SECURITY_CODE_SETTLE_MS);
    }
  }

  private refreshSecurityCode(): void {
    // Hashed again on every settle, never skipped because the ids and seqs look the same: a server
    // that removes a member and re-adds its id and seq with other keys within one settle would
    // otherwise keep the old code (red team, 2026-12-07). Settling already bounds the cost.
    this.securityCodeKey ??= securityCodeKeyOf(this.options.secret);
    const code =
      this.roster.selfSeq === undefined
        ? ""
        : securityCodeWith(this.securityCodeKey, [
            {
              participantId: this.participantId,
              x25519PublicKey: this.own.keyPairs.x25519.publicKey,
              ed25519PublicKey: this.own.keyPairs.ed25519.publicKey,
            },
            ...this.roster.verifiedKeys(),
          ]);
    if (code !== this.securityCode) {
      this.securityCode = code;
      this.emitter.emit("securityCode", code);
    }
  }
}
