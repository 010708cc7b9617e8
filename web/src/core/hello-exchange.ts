// The liveness exchange (docs/key-schedule.md, Liveness hellos; the bytes are liveness.ts): we ask
// each peer that joined after us to prove it holds the keys it announced, answer the asks of
// others, and send every hello made in one turn of the event loop in one frame. What a valid hello
// means for the roster is the verified roster's business (verified-roster.ts).
import { toBase64url } from "./base64url.js";
import type { Clock, TimerHandle } from "./clock.js";
import { checkHello, makeHello } from "./liveness.js";
import type { OwnIncarnation, Peer } from "./peer.js";
import type { SessionCounters } from "./session-counters.js";

/**
 * We ask a joiner again after 1 s, then back off (doubling) to one ask every 8 s for as long as it is
 * in the room: a lost hello is retried quickly, while a call where many joiners are slow to answer
 * (a big call filling up) is not flooded with asks that only make everyone slower.
 */
const HELLO_FIRST_RETRY_MS = 1_000;
const HELLO_MAX_RETRY_MS = 8_000;
/** Answers are rate-limited per peer, so replayed requests cannot make us chatty. */
const HELLO_ANSWER_SPACING_MS = 500;

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
}

export class HelloExchange {
  /** Hellos made in this turn of the event loop, sent together (queue). */
  private readonly outbox: { to: string; payload: string }[] = [];
  private flushTimer: TimerHandle | undefined;

  constructor(private readonly options: HelloExchangeOptions) {}

  /** It joined after us: ask it to prove itself, again and again while it has not (hellos get lost). */
  ask(peerId: string, peer: Peer): void {
    if (peer.proven || this.options.peerOf(peerId) !== peer) return;
    peer.asked += 1;
    this.queue(peerId, peer, true);
    const delay = Math.min(HELLO_MAX_RETRY_MS, HELLO_FIRST_RETRY_MS * 2 ** (peer.asked - 1));
    peer.retryTimer = this.options.clock.setTimeout(() => {
      peer.retryTimer = undefined;
      this.ask(peerId, peer);
    }, delay);
  }

  /**
   * Checks a hello from `from` against the incarnation we hold for it and answers it if it asks
   * (rate-limited). Returns that incarnation when the hello proves it live, undefined otherwise.
   */
  receive(from: string, peer: Peer | undefined, bytes: Uint8Array): Peer | undefined {
    let answerMe: boolean;
    try {
      if (!peer) throw new Error("hello from a participant the room did not announce");
      answerMe = checkHello(
        this.parties(from, peer, true),
        peer.channel.helloReceiveKey,
        bytes,
      ).answerMe;
    } catch {
      this.options.counters.hellosRejected += 1;
      return undefined;
    }
    const now = this.options.clock.now();
    if (answerMe && now - peer.answeredAt >= HELLO_ANSWER_SPACING_MS) {
      peer.answeredAt = now;
      this.queue(from, peer, false);
    }
    return peer;
  }

  /** Sends the queued hellos now: they must go before envelopes a peer can only open once it knows us. */
  flush(): void {
    const hellos = this.outbox.splice(0);
    if (hellos.length > 0 && this.options.send(hellos))
      this.options.counters.hellosSent += hellos.length;
  }

  /** Drops queued hellos: they bind the announcement of a connection that is gone. */
  clear(): void {
    this.outbox.length = 0;
  }

  /**
   * Queues a hello; every hello made in this turn of the event loop goes out in one frame (a joiner
   * answers everyone present at once, and one frame is far cheaper for the room than a hundred).
   */
  private queue(peerId: string, peer: Peer, answerMe: boolean): void {
    const hello = makeHello(this.parties(peerId, peer, false), peer.channel.helloSendKey, {
      answerMe,
    });
    this.outbox.push({ to: peerId, payload: toBase64url(hello) });
    this.flushTimer ??= this.options.clock.setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 0);
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
