// The signalling wire protocol v1 (docs/protocol.md) as schemas: the Worker parses every client
// frame with these, the client core parses every server frame with them. Types are inferred from the
// schemas so that the code and the wire cannot drift apart. The file belongs to neither side: worker/
// and web/ both import it from here, and it imports nothing of theirs.
import { z } from "zod";

export const PROTOCOL_VERSION = 1;

/** Size limits of docs/protocol.md (Limits), in decoded bytes. */
export const LIMITS = {
  announcementBytes: 1024,
  payloadBytes: 64 * 1024,
  sendItems: 1000,
  /**
   * Largest client frame the Worker reads, in UTF-8 bytes (an addition to the base protocol: larger
   * frames get `payload_too_large`). Fits a 64 KiB broadcast and a rekey `send` to a full room many
   * times over, and stays below the runtime's own WebSocket message cap so the error can still be
   * sent.
   */
  frameBytes: 1024 * 1024,
} as const;

/** Room and participant ids: 22 base64url characters, i.e. 16 bytes. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/**
 * What the Worker accepts as a room id or a joining participant id: the canonical spelling only.
 * 22 characters carry 132 bits; the last character's 4 low bits are unused and must be zero (it is
 * one of A, Q, g, w), so 16 bytes have exactly one spelling and `duplicate_participant` holds byte
 * for byte. Standard base64url encoders of 16 bytes always produce this form.
 */
export const CANONICAL_ID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Decoded length of unpadded base64url text, or -1 when the text cannot be base64url. */
export function decodedLength(text: string): number {
  if (text.length % 4 === 1 || !BASE64URL.test(text)) return -1;
  return Math.floor((text.length * 3) / 4);
}

export const Id = z.string().regex(ID_PATTERN, "must be 22 base64url characters (16 bytes)");
/** An id the Worker admits: 16 bytes in their one canonical base64url spelling. */
export const CanonicalId = z
  .string()
  .regex(CANONICAL_ID_PATTERN, "must be 16 bytes as 22 canonical base64url characters");
/** Opaque bytes as unpadded base64url; size limits are checked separately so they get their own code. */
export const Opaque = z
  .string()
  .min(1, "must not be empty")
  .refine((text) => decodedLength(text) >= 0, "must be unpadded base64url");

// ---- client to server ----

export const JoinMessage = z.object({
  type: z.literal("join"),
  v: z.number(),
  participantId: CanonicalId,
  announcement: Opaque,
});
export const SendMessage = z.object({
  type: z.literal("send"),
  messages: z.array(z.object({ to: Id, payload: Opaque })).min(1, "must not be empty"),
});
export const BroadcastRequest = z.object({ type: z.literal("broadcast"), payload: Opaque });
export const TokenRequest = z.object({ type: z.literal("token") });
export const LeaveRequest = z.object({ type: z.literal("leave") });

export const ClientMessage = z.discriminatedUnion("type", [
  JoinMessage,
  SendMessage,
  BroadcastRequest,
  TokenRequest,
  LeaveRequest,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type ClientMessageType = ClientMessage["type"];

// ---- server to client ----

export const Member = z.object({
  participantId: Id,
  seq: z.number().int().nonnegative(),
  announcement: Opaque,
});
export type Member = z.infer<typeof Member>;

export const LiveKitGrant = z.object({ url: z.string(), token: z.string() });
export type LiveKitGrant = z.infer<typeof LiveKitGrant>;

export const ERROR_CODES = [
  "bad_message",
  "unsupported_version",
  "not_joined",
  "already_joined",
  "duplicate_participant",
  "room_full",
  "payload_too_large",
  "unknown_recipient",
  "rate_limited",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * WebSocket close codes of docs/protocol.md (Close codes), by the error that causes them, and the
 * additions (docs/protocol.md, Additions to the base protocol), which come without an `error`
 * message first (old clients see an unknown close code and reconnect, which is what these codes ask
 * for).
 */
export const CLOSE_CODES = {
  unsupported_version: 4400,
  persistent_abuse: 4408,
  duplicate_participant: 4409,
  room_full: 4429,
  /** Addition: the socket sent no `join` within the join deadline. */
  join_timeout: 4440,
  /** Addition: a member sent neither a frame nor a heartbeat ping for too long. */
  heartbeat_timeout: 4441,
  /** Addition: more was relayed to this member than it may receive in the time (it is not reading). */
  recipient_overloaded: 4442,
} as const;

/**
 * Heartbeat (an addition to the base protocol, docs/protocol.md, Heartbeat): a client may send
 * exactly this text frame at any time; the runtime itself answers with `HEARTBEAT.pong` without
 * waking the room, so it costs nothing under hibernation. A joined member that sends neither a
 * frame nor a ping for the server's heartbeat timeout (45 s by default) is disconnected with 4441.
 * Clients ignore the pong (an unknown type).
 */
export const HEARTBEAT = { ping: '{"type":"ping"}', pong: '{"type":"pong"}' } as const;

export const WelcomeMessage = z.object({
  type: z.literal("welcome"),
  v: z.literal(PROTOCOL_VERSION),
  self: z.object({ participantId: Id, seq: z.number().int().nonnegative() }),
  members: z.array(Member),
  livekit: LiveKitGrant,
});
export const MemberJoinedMessage = z.object({ type: z.literal("member-joined"), member: Member });
export const MemberLeftMessage = z.object({
  type: z.literal("member-left"),
  participantId: Id,
  seq: z.number().int().nonnegative(),
});
export const UnicastMessage = z.object({ type: z.literal("message"), from: Id, payload: Opaque });
export const BroadcastMessage = z.object({
  type: z.literal("broadcast"),
  from: Id,
  payload: Opaque,
});
export const TokenMessage = z.object({ type: z.literal("token"), livekit: LiveKitGrant });
export const ErrorMessage = z.object({
  type: z.literal("error"),
  code: z.enum(ERROR_CODES),
  message: z.string(),
});

export const ServerMessage = z.discriminatedUnion("type", [
  WelcomeMessage,
  MemberJoinedMessage,
  MemberLeftMessage,
  UnicastMessage,
  BroadcastMessage,
  TokenMessage,
  ErrorMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
