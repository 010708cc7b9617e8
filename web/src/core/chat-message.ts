// Chat messages (docs/chat.md, The message): a text line, a reaction or a raised hand, sealed with
// XChaCha20-Poly1305 under K_chat of the sender's current sending epoch and signed with the
// sender's per-call Ed25519 key. The room relays them as opaque broadcasts: it sees their size
// (padded to 64-byte steps) and timing, nothing else. Another member, who holds the same epoch key,
// still cannot make one that verifies as someone else's: the AAD and the signature bind the
// sender's id, and only the sender holds its signing key.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { z } from "zod";
import { DISPLAY_NAME_MAX } from "./announcement.js";
import { ByteReader } from "./byte-reader.js";
import { concat, fromUtf8, u32be, utf8 } from "./bytes.js";
import { CryptoError } from "./crypto-error.js";
import type { CurveOps } from "./curve-ops.js";
import { chatKeyOf } from "./identifiers.js";
import { LABELS } from "./labels.js";
import type { Random } from "./random.js";

const CHAT_TAG = 0x43;
const CHAT_VERSION = 1;
/** tag, version, epoch, lamport, counter, nonce. */
const HEADER_BYTES = 1 + 1 + 4 + 4 + 4 + 24;
const TAG_BYTES = 16;
const SIGNATURE_BYTES = 64;
const PAD_STEP = 64;
export const CHAT_TEXT_MAX = 2000;
/** Largest chat payload accepted, checked before anything is parsed or verified. */
export const CHAT_MESSAGE_MAX_BYTES = 16 * 1024;
/** The reactions a member can send: a fixed set, so a reaction can never carry text. */
export const REACTIONS = ["👍", "👏", "❤️", "😂", "😮", "🎉"] as const;

export type Reaction = (typeof REACTIONS)[number];

const ChatBodySchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string().min(1).max(CHAT_TEXT_MAX) }).strict(),
  z.object({ type: z.literal("reaction"), emoji: z.enum(REACTIONS) }).strict(),
  z.object({ type: z.literal("hand"), up: z.boolean() }).strict(),
  /** Ask-to-join calls: the sender's display name, which its announcement does not carry. */
  z.object({ type: z.literal("name"), name: z.string().max(DISPLAY_NAME_MAX) }).strict(),
]);

export type ChatBody = z.infer<typeof ChatBodySchema>;

export interface ChatHeader {
  /** The sender's sending epoch: receivers open the message with K_chat of this epoch. */
  readonly epoch: number;
  /** The sender's Lamport clock: every receiver orders the log by (lamport, sender, counter). */
  readonly lamport: number;
  /** Per sender and session, starting at 1: with the sender's id, the message's identity. */
  readonly counter: number;
}

/** A message whose signature verified, not yet opened. */
export interface SignedChat extends ChatHeader {
  readonly header: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export interface ChatParties {
  readonly roomId: string;
  readonly senderId: string;
}

export function isChatMessage(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] === CHAT_TAG;
}

function prefixOf(parties: ChatParties): Uint8Array {
  return utf8(`${LABELS.chatMessage}\0${parties.roomId}\0${parties.senderId}\0`);
}

/** u16 length ‖ JSON ‖ zeros up to a multiple of 64 bytes, so a size says little about content. */
function padded(body: ChatBody): Uint8Array {
  const json = utf8(JSON.stringify(ChatBodySchema.parse(body)));
  const length = Math.ceil((2 + json.length) / PAD_STEP) * PAD_STEP;
  const out = new Uint8Array(length);
  out[0] = json.length >> 8;
  out[1] = json.length & 0xff;
  out.set(json, 2);
  return out;
}

export function sealChat(
  parties: ChatParties,
  signingKey: Uint8Array,
  groupKey: Uint8Array,
  header: ChatHeader,
  body: ChatBody,
  random: Random,
  ops?: CurveOps,
): Uint8Array {
  const head = concat(
    new Uint8Array([CHAT_TAG, CHAT_VERSION]),
    u32be(header.epoch),
    u32be(header.lamport),
    u32be(header.counter),
    random(24),
  );
  const prefix = prefixOf(parties);
  const ciphertext = xchacha20poly1305(
    chatKeyOf(groupKey),
    head.subarray(HEADER_BYTES - 24),
    concat(prefix, head),
  ).encrypt(padded(body));
  const signed = concat(head, ciphertext);
  if (ops) ops.ed25519Signs += 1;
  const signature = ed25519.sign(concat(prefix, signed), signingKey);
  return concat(signed, signature);
}

/**
 * Checks size and signature of a message the server attributes to `parties.senderId`; throws
 * CryptoError otherwise. Cheap refusals first: the size before anything, the signature before
 * any decryption.
 */
export function verifyChat(
  parties: ChatParties,
  senderPublicKey: Uint8Array,
  bytes: Uint8Array,
  ops?: CurveOps,
): SignedChat {
  const minimum = HEADER_BYTES + PAD_STEP + TAG_BYTES + SIGNATURE_BYTES;
  if (bytes.length < minimum || bytes.length > CHAT_MESSAGE_MAX_BYTES) {
    throw new CryptoError("chat", "bad-length", "impossible size");
  }
  const signed = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const signature = bytes.subarray(bytes.length - SIGNATURE_BYTES);
  let valid = false;
  if (ops) ops.ed25519Verifies += 1;
  try {
    valid = ed25519.verify(signature, concat(prefixOf(parties), signed), senderPublicKey);
  } catch {
    valid = false;
  }
  if (!valid) throw new CryptoError("chat", "bad-signature", "signature does not verify");
  const reader = new ByteReader(signed, "chat");
  if (reader.u8() !== CHAT_TAG) throw new CryptoError("chat", "bad-kind", "not a chat message");
  if (reader.u8() !== CHAT_VERSION) throw new CryptoError("chat", "bad-version", "unknown version");
  const epoch = reader.u32();
  const lamport = reader.u32();
  const counter = reader.u32();
  if (epoch < 1 || counter < 1) throw new CryptoError("chat", "bad-epochs", "epoch or counter 0");
  return {
    epoch,
    lamport,
    counter,
    header: signed.slice(0, HEADER_BYTES),
    ciphertext: signed.slice(HEADER_BYTES),
  };
}

/** Opens a verified message with the group key of its epoch; throws CryptoError when it cannot. */
export function openChat(
  parties: ChatParties,
  groupKey: Uint8Array,
  message: SignedChat,
): ChatBody {
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(
      chatKeyOf(groupKey),
      message.header.subarray(HEADER_BYTES - 24),
      concat(prefixOf(parties), message.header),
    ).decrypt(message.ciphertext);
  } catch {
    throw new CryptoError("chat", "bad-tag", "does not decrypt under this epoch's key");
  }
  const length = ((plaintext[0] ?? 0) << 8) | (plaintext[1] ?? 0);
  if (plaintext.length % PAD_STEP !== 0 || 2 + length > plaintext.length) {
    throw new CryptoError("chat", "bad-length", "bad padding");
  }
  if (plaintext.subarray(2 + length).some((byte) => byte !== 0)) {
    throw new CryptoError("chat", "bad-length", "padding is not zero");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(plaintext.subarray(2, 2 + length)));
  } catch {
    throw new CryptoError("chat", "bad-body", "not UTF-8 JSON");
  }
  const body = ChatBodySchema.safeParse(parsed);
  if (!body.success) throw new CryptoError("chat", "bad-body", "not a chat body");
  return body.data;
}
