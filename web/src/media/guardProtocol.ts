// Our own messages between the page and the E2EE worker (e2eeWorker.ts), beside livekit's. The
// page tells the worker's frame guard which keys each sender may use and which key our frames may
// leave with; the worker reports how many frames it refused. The worker parses every message of
// ours with these schemas and never hands one to livekit. No key bytes travel in them: only slots,
// epochs, generations and the keys' public checks.
import { z } from "zod";
// The E2EE worker's first zod import: parse without eval under the worker's policy too.
import "../noEval";

/** livekit's frame trailer: 12-byte IV, then one byte IV length, then one byte key index. */
export const IV_LENGTH = 12;
/** AES-GCM-128 tag livekit appends to the ciphertext. */
const TAG_LENGTH = 16;
/** A frame livekit encrypted is exactly this much longer than the plaintext (VP8 and Opus). */
export const ENCRYPTION_OVERHEAD = IV_LENGTH + 2 + TAG_LENGTH;

const Uint32 = z.number().int().min(0).max(0xffffffff);
const Slot = z.number().int().min(0).max(255);
const ParticipantId = z.string().max(256);
/** A key's public 16-byte check (the core's keyCheckOf), base64url: never the key itself. */
const KeyCheck = z.string().regex(/^[A-Za-z0-9_-]{22}$/);

const PlannedKeySchema = z.object({
  slot: Slot,
  epoch: Uint32,
  generation: z.number().int().min(0),
});
export type PlannedKey = z.infer<typeof PlannedKeySchema>;

const GuardPlanSchema = z.object({
  /** Our livekit identity: the only participant whose frames may leave. */
  local: ParticipantId,
  /** The key our frames leave with; null: send nothing. */
  send: PlannedKeySchema.nullable(),
  /**
   * Every epoch the core still holds (decides whether the previous send key may finish), with its
   * key's public check (names the replay windows: see frameGuard.ts).
   */
  held: z
    .array(
      z.object({
        epoch: Uint32,
        generation: z.number().int().min(0),
        check: KeyCheck,
      }),
    )
    .max(256),
  /**
   * Per verified remote sender, the keys its frames may use. Anyone else: none. The cap is far
   * above any room (the core's roster has no limit of its own, a room holds up to 10,000): a plan
   * that does not parse allows nothing (e2eeWorker.ts), so a cap a real roster can reach would
   * silence the call.
   */
  senders: z
    .array(z.object({ participantId: ParticipantId, keys: z.array(PlannedKeySchema).max(256) }))
    .max(100_000),
});
export type GuardPlan = z.infer<typeof GuardPlanSchema>;

export const PlanMessageSchema = z.object({
  kind: z.literal("hush:plan"),
  data: z.object({ id: z.number().int().min(1), plan: GuardPlanSchema }),
});
export const BarrierMessageSchema = z.object({
  kind: z.literal("hush:barrier"),
  data: z.object({ id: z.number().int().min(1) }),
});
export type PlanMessage = z.infer<typeof PlanMessageSchema>;
export type BarrierMessage = z.infer<typeof BarrierMessageSchema>;

/** Why the guard refused a frame. Not counted here: livekit's own decrypt failures. */
export interface RefusedCounts {
  /** The frame names a key index not in that sender's allowed set (retired, unknown sender). */
  keyNotAllowed: number;
  /** The IV was already accepted on that stream (a recorded frame injected again). */
  replay: number;
  /** livekit let the frame through without decrypting it (plaintext, or a malformed frame). */
  notDecrypted: number;
  /**
   * Of the frames refused before decryption, those ending with the SFU's server-injected-frame
   * trailer: its blank frames when a track stops, expected and harmless, unlike the others.
   */
  serverInjected: number;
}

export const RefusedMessageSchema = z.object({
  kind: z.literal("hush:refused"),
  data: z.object({
    receive: z.array(
      z.object({
        participantId: ParticipantId,
        keyNotAllowed: z.number().int().min(0),
        replay: z.number().int().min(0),
        notDecrypted: z.number().int().min(0),
        serverInjected: z.number().int().min(0),
      }),
    ),
    /** Our frames that did not leave: no allowed send key, or not encrypted with it. */
    sendBlocked: z.number().int().min(0),
  }),
});
export type RefusedMessage = z.infer<typeof RefusedMessageSchema>;

export function sameKey(a: PlannedKey | undefined | null, b: PlannedKey | undefined | null) {
  return !!a && !!b && a.slot === b.slot && a.epoch === b.epoch && a.generation === b.generation;
}
