// The liveness exchange (docs/key-schedule.md, Liveness hellos; the bytes are liveness.ts): we ask
// each peer that joined after us to prove it holds the keys it announced, answer the asks of
// others, and send every hello made in one turn of the event loop in one frame. What a valid hello
// means for the roster is the verified roster's business (verified-roster.ts).
import { toBase64url } from "./base64url.js";
import type { Clock, TimerHandle } from "./clock.js";
import { checkHello, makeHello } from "./liveness.js";
import type { OwnIncarnation, Peer } from "./peer.js";
import type { SessionCounters } from "./session-counters.js";
import type { SharedSecretDeriver } from "./shared-secrets.js";

/**
 * We ask a joiner again after 1 s, then back off (doubling) to one ask every 8 s for as long as it is
 * in the room: a lost hello is retried quickly, while a call where many joiners are slow to answer
 * (a big call filling up) is not flooded with asks that only make everyone slower.
 */
const HELLO_FIRST_RETRY_MS = 1_000;
const HELLO_MAX_RETRY_MS = 8_000;
/** Answers are rate-limited per peer, so replayed requests cannot make us chatty. */
const HELLO_ANSWER_SPACING_MS = 500;
/**
 * Hellos whose check needs a new X25519 are checked this many per turn of the event loop, oldest
 * peer first; what arrives meanwhile (the key leader's envelope above all) is handled in between.
 */
const DERIVATIONS_PER_TURN = 4;

export interface HelloExchangeOptions {
  readonly roomId: string;
  readonly participantId: string;
  readonly clock: Clock;
  readonly own: OwnIncarnation;
  readonly counters: SessionCounters;
  /** The incarnation the roster holds for an id now: asks stop once it is gone or replaced. */
  readonly peerOf: (participantId: string) => Peer | undefined;
  /** Sends unicast payloads in one frame; false when there is no joined socket. */
  readonly send: (hellos: { to: string; payload: string }[]) => boolean;
  /** A valid hello from this incarnation: it is live. */
  readonly proven: (participantId: string, peer: Peer) => void;
  /** This incarnation announced a key no Diffie-Hellman can use: it can never prove itself. */
  readonly unusable: (participantId: string, peer: Peer) => void;
  /**
   * The platform's X25519 (shared-secrets.ts): a pair's Diffie-Hellman is made there before its
   * first hello, off this thread. Without it each is made in JavaScript, a few per turn.
   */
  readonly sharedSecrets?: SharedSecretDeriver;
}

export class HelloExchange {
  /** Hellos made in this turn of the event loop, sent together (queue). */
  private readonly outbox: { to: string; payload: string }[] = [];
  private flushTimer: TimerHandle | undefined;

  constructor(private readonly options: HelloExchangeOptions) {}

  /** Hellos waiting for their X25519, by sender (the latest one each), checked a few per turn. */
  private readonly waiting = new Map<string, { peer: Peer; bytes: Uint8Array }>();
  /** Senders of waiting hellos whose X25519 the platform is making now. */
  private readonly preparing = new Map<string, Peer>();
  private waitingTimer: TimerHandle | undefined;

  /** It joined after us: ask it to prove itself, again and again while it has not (hellos get lost). */
  ask(peerId: string, peer: Peer): void {
    if (peer.proven || this.options.peerOf(peerId) !== peer) return;
    const { sharedSecrets } = this.options;
    if (sharedSecrets && !peer.channel.derived && !peer.channel.prepared) {
      // Asked again once the platform answers (prepared then: no second round).
      peer.channel.prepare(sharedSecrets, () => this.ask(peerId, peer));
      return;
    }
    peer.asked += 1;
    if (!this.queue(peerId, peer, true)) return;
    const delay = Math.min(HELLO_MAX_RETRY_MS, HELLO_FIRST_RETRY_MS * 2 ** (peer.asked - 1));
    peer.retryTimer = this.options.clock.setTimeout(() => {
      peer.retryTimer = undefined;
      this.ask(peerId, peer);
    }, delay);
  }

  /**
   * A hello from `from`, for the incarnation we hold for it. One whose check needs this pair's
   * X25519 first waits its turn (see checkWaiting); the rest are checked at once.
   */
  receive(from: string, peer: Peer | undefined, bytes: Uint8Array): void {
    if (!peer || peer.channel.derived) {
      this.check(from, peer, bytes);
      return;
    }
    this.waiting.set(from, { peer, bytes });
    this.waitingTimer ??= this.options.clock.setTimeout(() => this.checkWaiting(), 0);
  }

  /**
   * A joiner is announced everyone in the call at once, and everyone asks it to prove itself at
   * once. Checking those asks in arrival order would put its key leader's behind up to n-2 others,
   * each an X25519, and its key envelope behind them all. So they are checked a few per turn, the
   * oldest peer first (the key leader is the oldest member), and everything else that arrives in
   * the meantime is handled between turns.
   */
  private checkWaiting(): void {
    this.waitingTimer = undefined;
    const { sharedSecrets } = this.options;
    const next = [...this.waiting]
      .filter(([from]) => !this.preparing.has(from))
      .sort(([, a], [, b]) => a.peer.seq - b.peer.seq)
      .slice(0, Math.max(0, DERIVATIONS_PER_TURN - this.preparing.size));
    for (const [from, { peer, bytes }] of next) {
      if (sharedSecrets && !peer.channel.prepared && !peer.channel.derived) {
        // On the platform's threads, still a few at a time: the oldest peer's answer comes first.
        this.preparing.set(from, peer);
        peer.channel.prepare(sharedSecrets, () => this.checkPrepared(from, peer));
        continue;
      }
      this.waiting.delete(from);
      if (this.options.peerOf(from) === peer) this.check(from, peer, bytes);
    }
    this.checkWaitingSoon();
  }

  /** Another turn if hellos wait that are not with the platform, and it has room for more. */
  private checkWaitingSoon(): void {
    const idle = this.waiting.size > this.preparing.size;
    if (idle && this.preparing.size < DERIVATIONS_PER_TURN) {
      this.waitingTimer ??= this.options.clock.setTimeout(() => this.checkWaiting(), 0);
    }
  }

  /**
   * The platform answered for `peer`'s pair: its latest waiting hello is checked now (in
   * JavaScript after all if the platform did not make the secret), and the next ones start.
   */
  private checkPrepared(from: string, peer: Peer): void {
    // A stale answer (an incarnation gone since) frees nobody else's place.
    if (this.preparing.get(from) === peer) this.preparing.delete(from);
    const waiting = this.waiting.get(from);
    try {
      if (waiting?.peer === peer) {
        this.waiting.delete(from);
        if (this.options.peerOf(from) === peer) this.check(from, peer, waiting.bytes);
      }
    } finally {
      this.checkWaitingSoon();
    }
  }

  /** Checks a hello, answers it if it asks (rate-limited) and reports a valid one as proof. */
  private check(from: string, peer: Peer | undefined, bytes: Uint8Array): void {
    let answerMe: boolean;
    try {
      if (!peer) throw new Error("hello from a participant the room did not announce");
      if (!this.usable(from, peer)) throw new Error("the peer's announced key is unusable");
      answerMe = checkHello(
        this.parties(from, peer, true),
        peer.channel.helloReceiveKey,
        bytes,
      ).answerMe;
    } catch {
      this.options.counters.hellosRejected += 1;
      return;
    }
    const now = this.options.clock.now();
    if (answerMe && now - peer.answeredAt >= HELLO_ANSWER_SPACING_MS) {
      peer.answeredAt = now;
      this.queue(from, peer, false);
    }
    this.options.proven(from, peer);
  }

  /** Sends the queued hellos now: they must go before envelopes a peer can only open once it knows us. */
  flush(): void {
    const hellos = this.outbox.splice(0);
    if (hellos.length > 0 && this.options.send(hellos))
      this.options.counters.hellosSent += hellos.length;
  }

  /** Drops queued and waiting hellos: they bind the announcement of a connection that is gone. */
  clear(): void {
    this.outbox.length = 0;
    this.waiting.clear();
    this.preparing.clear();
  }

  /**
   * Queues a hello; every hello made in this turn of the event loop goes out in one frame (a joiner
   * answers everyone present at once, and one frame is far cheaper for the room than a hundred).
   * False when the peer's key is unusable (nothing queued).
   */
  private queue(peerId: string, peer: Peer, answerMe: boolean): boolean {
    if (!this.usable(peerId, peer)) return false;
    const hello = makeHello(this.parties(peerId, peer, false), peer.channel.helloSendKey, {
      answerMe,
    });
    this.outbox.push({ to: peerId, payload: toBase64url(hello) });
    this.flushTimer ??= this.options.clock.setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 0);
    return true;
  }

  /** Makes the pair's X25519 if not yet made; false (reported once) if the peer's key is unusable. */
  private usable(peerId: string, peer: Peer): boolean {
    const first = !peer.channel.derived;
    if (peer.channel.ready()) return true;
    if (first) this.options.unusable(peerId, peer);
    return false;
  }

  private parties(peerId: string, peer: Peer, fromPeer: boolean) {
    const { roomId, participantId, own } = this.options;
    return fromPeer
      ? {
          roomId,
          from: peerId,
          to: participantId,
          fromAnnouncement: peer.announcementBytes,
          toAnnouncement: own.announcement,
        }
      : {
          roomId,
          from: participantId,
          to: peerId,
          fromAnnouncement: own.announcement,
          toAnnouncement: peer.announcementBytes,
        };
  }
}
