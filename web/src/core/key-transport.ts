// Key messages over the room's relay (docs/key-schedule.md, Envelopes and Broadcasts): seals the
// schedule's key messages into pairwise envelopes and signs its broadcasts on the way out; on the
// way in, hands hellos to the verified roster and opens envelopes and broadcasts from verified
// members only. A refusal is counted, never shown; nothing refused reaches the schedule.
import { assertNever } from "../../../protocol/guards.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import {
  type BroadcastBody,
  type BroadcastKind,
  checkBroadcast,
  type ReadBroadcast,
  readBroadcast,
  signBroadcast,
} from "./broadcast.js";
import { CryptoError } from "./crypto-error.js";
import { decodeKeyMessage, encodeKeyMessage, type KeyMessageBody } from "./key-messages.js";
import { decodeKnock, encodeKnock, KNOCK_EPOCH } from "./knock.js";
import { isHello } from "./liveness.js";
import type { OwnIncarnation } from "./peer.js";
import { pooledRandom, type Random } from "./random.js";
import type { SessionCounters } from "./session-counters.js";
import type { SignatureVerifier } from "./signature-verifier.js";
import type { EnvelopeKind } from "./session-types.js";
import type { VerifiedRoster } from "./verified-roster.js";

/** A broadcast read from a verified member, its signature not yet checked. */
export interface UncheckedBroadcast {
  readonly read: ReadBroadcast;
  /** The sender's announced key, taken when the frame came. */
  readonly ed25519PublicKey: Uint8Array;
}

/** One unicast payload of a `send` frame. */
export interface Unicast {
  readonly to: string;
  readonly payload: string;
}

export interface KeyTransportOptions {
  readonly roomId: string;
  readonly participantId: string;
  readonly random: Random;
  readonly own: OwnIncarnation;
  readonly counters: SessionCounters;
  readonly roster: VerifiedRoster;
  /** The signalling client's unicast and broadcast; each returns false when not joined. */
  readonly send: (messages: Unicast[]) => boolean;
  readonly broadcast: (payload: string) => boolean;
  /** A waiting participant's knock opened (ask-to-join calls; docs/admission.md). */
  readonly knocked?: (from: string, displayName: string) => void;
}

function envelopeKindOf(message: KeyMessageBody): EnvelopeKind {
  switch (message.type) {
    case "key":
      return message.kind === "fresh"
        ? "key-fresh"
        : message.kind === "ratchet-join"
          ? "key-ratchet-join"
          : "key-current";
    case "ack":
      return "ack";
    case "key-request":
      return "key-request";
    default:
      return assertNever(message);
  }
}

export class KeyTransport {
  /**
   * The last message sealed and its encoding, until the batch is sent: a fresh rotation seals the
   * same message object for n-2 recipients, and its holder list makes encoding (and checking) it
   * cost more than sealing it.
   */
  private lastEncoded: { message: KeyMessageBody; plaintext: Uint8Array } | undefined;
  /** Envelope nonces: public, and a rotation needs n-2 of them at once. */
  private readonly nonces: Random;

  constructor(private readonly options: KeyTransportOptions) {
    this.nonces = pooledRandom(options.random);
  }

  /**
   * A unicast payload from `from`: a hello goes to the roster; an envelope from a verified member
   * is opened into its key message. Undefined for a hello and for anything refused.
   */
  receive(from: string, payload: string): KeyMessageBody | undefined {
    const { counters, roster } = this.options;
    let bytes: Uint8Array;
    try {
      bytes = fromBase64url(payload);
    } catch {
      counters.envelopesRejected += 1;
      return undefined;
    }
    if (isHello(bytes)) {
      roster.receiveHello(from, bytes);
      return undefined;
    }
    const member = roster.verifiedPeer(from);
    if (!member) {
      this.receiveKnock(from, bytes);
      return undefined;
    }
    let message: KeyMessageBody;
    try {
      if (!member) throw new Error("envelope from a participant not on the verified roster");
      const opened = member.channel.open(bytes);
      message = decodeKeyMessage(opened.plaintext);
      if (message.epoch !== opened.epoch)
        throw new Error("inner epoch differs from the envelope's");
    } catch {
      counters.envelopesRejected += 1;
      return undefined;
    }
    return message;
  }

  /**
   * The one envelope a proven participant outside the schedule may send: its knock (its name for
   * the host and co-hosts). Anything else from it, or from anyone unproven, is refused.
   */
  private receiveKnock(from: string, bytes: Uint8Array): void {
    const { counters, roster, knocked } = this.options;
    const peer = roster.waitingPeer(from);
    try {
      if (!peer || !knocked) throw new Error("envelope from a participant not on the roster");
      const opened = peer.channel.open(bytes);
      if (opened.epoch !== KNOCK_EPOCH) throw new Error("not a knock");
      knocked(from, decodeKnock(opened.plaintext));
    } catch {
      counters.envelopesRejected += 1;
    }
  }

  /** Sends our knock to a proven host or co-host while we wait; false when not sent. */
  knock(to: string, displayName: string): boolean {
    const peer = this.options.roster.provenPeer(to);
    if (!peer) return false;
    const sealed = peer.channel.seal(KNOCK_EPOCH, encodeKnock(displayName), this.options.random);
    this.options.roster.flushHellos();
    return this.options.send([{ to, payload: toBase64url(sealed) }]);
  }

  /**
   * A leader's broadcast from `from` (its payload decoded, undefined when it was not base64url),
   * read but not yet checked: undefined when it is not from a verified member or cannot be read
   * (counted as rejected), or when `wanted` turns its body down (the schedule would ignore it: not
   * the leader's, an epoch already passed; counted as ignored). Neither costs a signature check.
   * Who may have sent it is decided now, in the order the frames came.
   */
  readBroadcast(
    from: string,
    bytes: Uint8Array | undefined,
    wanted: (body: BroadcastBody) => boolean,
  ): UncheckedBroadcast | undefined {
    const { roomId, roster, counters } = this.options;
    const member = roster.verifiedPeer(from);
    let read: ReadBroadcast | undefined;
    try {
      if (member && bytes) read = readBroadcast(roomId, from, bytes);
    } catch {
      read = undefined;
    }
    if (!member || !read) {
      counters.broadcastsRejected += 1;
      return undefined;
    }
    if (!wanted(read.body)) {
      counters.broadcastsIgnored += 1;
      return undefined;
    }
    return { read, ed25519PublicKey: member.announcement.ed25519PublicKey };
  }

  /** Checks a read broadcast's signature with `verifier`: `done` gets its body, or undefined. */
  checkBroadcast(
    verifier: SignatureVerifier,
    broadcast: UncheckedBroadcast,
    done: (body: BroadcastBody | undefined) => void,
  ): void {
    const { counters } = this.options;
    checkBroadcast(
      verifier,
      broadcast.read,
      broadcast.ed25519PublicKey,
      (result) => {
        if (result instanceof CryptoError) {
          counters.broadcastsRejected += 1;
          done(undefined);
        } else {
          done(result);
        }
      },
      counters.curveOps,
    );
  }

  /** Seals a key message for `to`; undefined when `to` is not (or no longer) a verified member. */
  seal(to: string, message: KeyMessageBody): Unicast | undefined {
    const member = this.options.roster.verifiedPeer(to);
    if (!member) return undefined;
    if (this.lastEncoded?.message !== message) {
      this.lastEncoded = { message, plaintext: encodeKeyMessage(message) };
    }
    const sealed = member.channel.seal(message.epoch, this.lastEncoded.plaintext, this.nonces);
    this.options.counters.envelopesSent[envelopeKindOf(message)] += 1;
    return { to, payload: toBase64url(sealed) };
  }

  /** Sends the envelopes gathered so far in one frame, before anything that must follow them. */
  send(outgoing: Unicast[]): void {
    // The batch is sealed: the encoded message (a group key in it) is not kept past it.
    this.lastEncoded?.plaintext.fill(0);
    this.lastEncoded = undefined;
    if (outgoing.length === 0) return;
    this.options.roster.flushHellos();
    this.options.send(outgoing.splice(0));
  }

  broadcast(body: BroadcastBody): void {
    const { roomId, participantId, own, counters } = this.options;
    const signed = signBroadcast(
      roomId,
      participantId,
      own.keyPairs.ed25519.secretKey,
      body,
      counters.curveOps,
    );
    if (this.options.broadcast(toBase64url(signed))) {
      counters.broadcastsSent[body.kind satisfies BroadcastKind] += 1;
    }
  }
}
