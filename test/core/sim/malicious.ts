// A malicious member for the simulator (docs/design.md, Malicious members: a member knows the call
// secret and may run modified code). It is a real CallSession, so it joins, verifies and gets keys
// like anyone, plus a side channel that holds the same per-call key pairs and uses them to send
// whatever an attacker likes through the real envelope and broadcast crypto of web/src/core: huge
// epochs, forged acks, rival leader claims, a rejoin that reuses its old announcement.
//
// The key pairs are learnt without any hook in the core: the session draws them from the Random we
// hand it, and its join frame announces the public halves, so the side channel keeps the last few
// 32-byte draws and picks the ones whose public keys match the announcement.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { verifyAnnouncement } from "../../../web/src/core/announcement.js";
import { fromBase64url, toBase64url } from "../../../web/src/core/base64url.js";
import { type BroadcastBody, signBroadcast } from "../../../web/src/core/broadcast.js";
import { concat, equalBytes, u32be, utf8 } from "../../../web/src/core/bytes.js";
import { callContextOf } from "../../../web/src/core/call-keys.js";
import {
  ENVELOPE_VERSION,
  EnvelopeChannel,
  envelopeKeyOf,
} from "../../../web/src/core/envelope.js";
import type { CallSecret } from "../../../web/src/core/identifiers.js";
import {
  decodeKeyMessage,
  encodeKeyMessage,
  type KeyMessageBody,
} from "../../../web/src/core/key-messages.js";
import { LABELS } from "../../../web/src/core/labels.js";
import type { Random } from "../../../web/src/core/random.js";
import type { Connection, Relay, ServerFrame } from "./relay.js";

/** The attacker's per-call key pairs of one incarnation, recovered from the session's draws. */
export interface StolenKeys {
  readonly participantId: string;
  readonly announcement: string;
  readonly x25519SecretKey: Uint8Array;
  readonly ed25519SecretKey: Uint8Array;
}

/** A key message the malicious member received, opened with its own copy of the channel keys. */
export interface ReceivedKeyMessage {
  readonly from: string;
  readonly message: KeyMessageBody;
  readonly at: number;
}

const DRAWS_KEPT = 16;

/**
 * A key delivery as the attacker writes it. `holders` is a field the core may require (issue 9's
 * fix lists who may hold a chain); a core without it strips it, so the same attack runs on both.
 */
export function keyDelivery(fields: {
  epoch: number;
  groupKey: Uint8Array;
  kind: "fresh" | "ratchet-join" | "current";
  chainStart: number;
  leaderSeq: number;
  holders?: readonly number[];
}): KeyMessageBody {
  return { type: "key", holders: [], ...fields } as unknown as KeyMessageBody;
}

export class MaliciousMember {
  /** Recent 32-byte draws of the session (candidates for its secret keys). */
  private readonly draws: Uint8Array[] = [];
  /** Keys of every incarnation so far, by connection id. */
  readonly keysByConnection = new Map<number, StolenKeys>();
  /** The connection the side channel sends on (the session's, or a raw one after a fake rejoin). */
  connection: Connection | undefined;
  /** Envelopes seen leaving this client per (connection id, peer): the next counter to use. */
  private readonly sentTo = new Map<string, number>();
  private readonly receiveChannels = new Map<string, EnvelopeChannel>();
  readonly received: ReceivedKeyMessage[] = [];
  /** Every group key this member made up and sent: it can derive all of them (ground truth). */
  readonly forged: { epoch: number; groupKey: Uint8Array }[] = [];
  /** Called for every key message it receives (to answer a fresh key with a forged ack, say). */
  onKeyMessage: ((received: ReceivedKeyMessage) => void) | undefined;
  private readonly roomId: string;

  constructor(
    private readonly secret: CallSecret,
    private readonly relay: Relay,
    private readonly random: Random,
    private readonly now: () => number,
    /** Reports a key the attacker forged, so the world adds it to what this member can derive. */
    private readonly learnt: (epoch: number, groupKey: Uint8Array) => void,
  ) {
    this.roomId = callContextOf(secret).roomId;
  }

  /** The Random to give the session: the same draws, remembered. */
  recordingRandom(base: Random): Random {
    return (length: number) => {
      const out = base(length);
      if (length === 32) {
        this.draws.push(out.slice());
        if (this.draws.length > DRAWS_KEPT) this.draws.shift();
      }
      return out;
    };
  }

  get keys(): StolenKeys | undefined {
    return this.connection ? this.keysByConnection.get(this.connection.id) : undefined;
  }

  /** Every frame this client sends (from the relay's hook). */
  observeSent(connection: Connection, data: string): void {
    const frame = JSON.parse(data) as {
      type: string;
      participantId?: string;
      announcement?: string;
      messages?: { to: string }[];
    };
    if (frame.type === "join" && frame.participantId && frame.announcement) {
      this.connection = connection;
      if (!this.keysByConnection.has(connection.id)) {
        const stolen = this.steal(frame.participantId, frame.announcement);
        if (stolen) this.keysByConnection.set(connection.id, stolen);
      }
    }
    for (const item of frame.messages ?? []) {
      const slot = `${connection.id}:${item.to}`;
      this.sentTo.set(slot, (this.sentTo.get(slot) ?? 0) + 1);
    }
  }

  private steal(participantId: string, announcement: string): StolenKeys | undefined {
    const context = callContextOf(this.secret);
    const announced = verifyAnnouncement(context, participantId, fromBase64url(announcement));
    const x = this.draws.find((d) => equalBytes(x25519.getPublicKey(d), announced.x25519PublicKey));
    const ed = this.draws.find((d) =>
      equalBytes(ed25519.getPublicKey(d), announced.ed25519PublicKey),
    );
    if (!x || !ed) return undefined;
    return { participantId, announcement, x25519SecretKey: x, ed25519SecretKey: ed };
  }

  /** A frame on its way to this client (from the relay's hook): opens envelopes with its own keys. */
  observeDelivering(connection: Connection, frame: ServerFrame): void {
    if (frame.type !== "message") return;
    const keys = this.keysByConnection.get(connection.id);
    const from = String(frame.from);
    const peer = this.peerPublicKey(from);
    if (!keys || !peer) return;
    const slot = `${connection.id}:${from}`;
    let channel = this.receiveChannels.get(slot);
    if (!channel) {
      channel = new EnvelopeChannel(
        this.roomId,
        keys.participantId,
        keys.x25519SecretKey,
        from,
        peer,
      );
      this.receiveChannels.set(slot, channel);
    }
    let message: KeyMessageBody;
    try {
      message = decodeKeyMessage(channel.open(fromBase64url(String(frame.payload))).plaintext);
    } catch {
      return;
    }
    if (message.type === "key") this.learnt(message.epoch, message.groupKey);
    const received = { from, message, at: this.now() };
    this.received.push(received);
    this.onKeyMessage?.(received);
  }

  /** A current member's announced X25519 key, as the server (and so the attacker) knows it. */
  private peerPublicKey(participantId: string): Uint8Array | undefined {
    const member = this.relay.members().find((m) => m.participantId === participantId);
    if (!member?.announcement) return undefined;
    const context = callContextOf(this.secret);
    return verifyAnnouncement(context, participantId, fromBase64url(member.announcement))
      .x25519PublicKey;
  }

  /** Ids of the other current members. */
  peers(): string[] {
    const self = this.keys?.participantId;
    return this.relay
      .members()
      .map((m) => m.participantId)
      .filter((id): id is string => id !== undefined && id !== self);
  }

  /**
   * Seals `message` to `to` with the real envelope key derivation and layout, with the next counter
   * on that channel (the session's own next envelope there then reuses it and is refused: the price
   * of the forgery, paid by the attacker alone). `headerEpoch` defaults to the message's epoch.
   */
  sendKeyMessage(to: string, message: KeyMessageBody, headerEpoch = message.epoch): void {
    const keys = this.keys;
    const connection = this.connection;
    const peer = this.peerPublicKey(to);
    if (!keys || !connection || !peer) throw new Error("malicious member is not in the call");
    const slot = `${connection.id}:${to}`;
    const counter = (this.sentTo.get(slot) ?? 0) + 1;
    const shared = x25519.getSharedSecret(keys.x25519SecretKey, peer);
    const key = envelopeKeyOf(this.roomId, shared, keys.participantId, to);
    const header = concat(
      new Uint8Array([ENVELOPE_VERSION]),
      u32be(headerEpoch),
      u32be(counter),
      this.random(24),
    );
    const aad = concat(
      utf8(`${LABELS.envelope}\0${this.roomId}\0${keys.participantId}\0${to}\0`),
      header.subarray(0, 9),
    );
    const sealed = concat(
      header,
      xchacha20poly1305(key, header.subarray(9), aad).encrypt(encodeKeyMessage(message)),
    );
    if (message.type === "key") {
      this.forged.push({ epoch: message.epoch, groupKey: message.groupKey });
      this.learnt(message.epoch, message.groupKey);
    }
    connection.socket.send(
      JSON.stringify({ type: "send", messages: [{ to, payload: toBase64url(sealed) }] }),
    );
  }

  /** Signs `body` with this member's announced Ed25519 key and broadcasts it. */
  broadcast(body: BroadcastBody): void {
    const keys = this.keys;
    const connection = this.connection;
    if (!keys || !connection) throw new Error("malicious member is not in the call");
    const signed = signBroadcast(this.roomId, keys.participantId, keys.ed25519SecretKey, body);
    connection.socket.send(JSON.stringify({ type: "broadcast", payload: toBase64url(signed) }));
  }

  /** Broadcasts any bytes at all (the room relays what it cannot read). */
  broadcastBytes(payload: Uint8Array): void {
    const connection = this.connection;
    if (!connection) throw new Error("malicious member is not in the call");
    connection.socket.send(JSON.stringify({ type: "broadcast", payload: toBase64url(payload) }));
  }

  /**
   * A fake leave-and-rejoin: after the session has left, a raw socket joins again with the same
   * participant id and the same (old) announcement, so every peer builds a new envelope channel
   * with the same keys. Resolves through the relay's admission; `onOpen` runs once joined.
   */
  rejoinWithOldAnnouncement(client: number, url: string): void {
    const keys = [...this.keysByConnection.values()].at(-1);
    if (!keys) throw new Error("no earlier incarnation to reuse");
    const Socket = this.relay.socketClassFor(client);
    const socket = new Socket(url);
    socket.addEventListener("open", () => {
      socket.send(
        JSON.stringify({
          type: "join",
          v: 1,
          participantId: keys.participantId,
          announcement: keys.announcement,
        }),
      );
    });
    // The raw socket keeps the old keys for its new connection once the relay sees the join.
    const connection = this.relay.connections.at(-1);
    if (connection) this.keysByConnection.set(connection.id, keys);
  }
}
