// What the Room remembers about one WebSocket, kept in the socket's hibernation attachment (so it
// survives eviction) and read back defensively: an attachment of an unexpected shape yields null,
// never a throw. It names only this call's ephemeral ids.
import { z } from "zod";
import { Id, Opaque } from "../../protocol/signalling";

const BucketSchema = z.object({
  tokens: z.number().finite(),
  bytes: z.number().finite().optional(),
  strikes: z.number().finite().nonnegative(),
  at: z.number().finite(),
});

/** Connected, not yet admitted: may only send `join`, and only until the join deadline. */
const PendingSocket = z.object({
  phase: z.literal("pending"),
  roomId: Id,
  bucket: BucketSchema,
  /** When the socket connected (ms since the epoch); absent in older attachments. */
  since: z.number().finite().optional(),
  /** Frames refused so far (room.ts PENDING_REFUSALS). */
  refusals: z.number().int().nonnegative().optional(),
});
/** Admitted member of the room. */
const JoinedSocket = z.object({
  phase: z.literal("joined"),
  roomId: Id,
  participantId: Id,
  seq: z.number().int().nonnegative(),
  announcement: Opaque,
  bucket: BucketSchema,
});
/** Left or refused; the socket is closing and every further frame is ignored. */
const ClosedSocket = z.object({ phase: z.literal("closed") });

export const SocketState = z.discriminatedUnion("phase", [
  PendingSocket,
  JoinedSocket,
  ClosedSocket,
]);
export type SocketState = z.infer<typeof SocketState>;
export type PendingSocket = z.infer<typeof PendingSocket>;
export type JoinedSocket = z.infer<typeof JoinedSocket>;

export function readSocketState(attachment: unknown): SocketState | null {
  const parsed = SocketState.safeParse(attachment);
  return parsed.success ? parsed.data : null;
}
