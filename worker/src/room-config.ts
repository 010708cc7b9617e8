// The room rules' settings, parsed from the Worker's vars with their defaults and bounds. Apart from
// config.ts because the rules (room.ts and what it uses) are pure and run outside workerd too: the
// simulator drives them in Node, so nothing here may name a Workers runtime type.
import { z } from "zod";

/** The vars the room rules read; absent ones take their defaults. */
export interface RoomVars {
  ROOM_CAPACITY?: unknown;
  RATE_LIMIT_PER_SECOND?: unknown;
  RATE_LIMIT_BURST?: unknown;
  RATE_LIMIT_STRIKES?: unknown;
  RATE_LIMIT_BYTES_PER_SECOND?: unknown;
  RATE_LIMIT_BYTES_BURST?: unknown;
  RECIPIENT_BYTES_PER_SECOND?: unknown;
  RECIPIENT_BYTES_BURST?: unknown;
  ROOM_MAX_SOCKETS?: unknown;
  JOIN_DEADLINE_SECONDS?: unknown;
  HEARTBEAT_TIMEOUT_SECONDS?: unknown;
}

export const count = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

const MiB = 1024 * 1024;

/** Sockets a room accepts beyond its capacity, for members arriving while others still leave. */
const SOCKET_SLACK = 50;

const RoomSettings = z.object({
  ROOM_CAPACITY: count(100, 10_000),
  RATE_LIMIT_PER_SECOND: count(200, 1_000_000),
  RATE_LIMIT_BURST: count(1000, 1_000_000),
  RATE_LIMIT_STRIKES: count(100, 1_000_000),
  RATE_LIMIT_BYTES_PER_SECOND: count(1 * MiB, 1024 * MiB),
  RATE_LIMIT_BYTES_BURST: count(4 * MiB, 1024 * MiB),
  RECIPIENT_BYTES_PER_SECOND: count(256 * 1024, 1024 * MiB),
  RECIPIENT_BYTES_BURST: count(8 * MiB, 1024 * MiB),
  ROOM_MAX_SOCKETS: z.coerce.number().int().min(1).max(20_000).optional(),
  JOIN_DEADLINE_SECONDS: count(5, 60),
  HEARTBEAT_TIMEOUT_SECONDS: z.coerce.number().int().min(2).max(600).default(45),
});

export interface RateLimit {
  /** Frames refilled per second. */
  perSecond: number;
  /** Bucket size: frames a socket may send at once. */
  burst: number;
  /** Refusals (forgiven at one per second) after which the socket is closed with 4408. */
  strikes: number;
  /** Bytes (frame plus what the room relays for it, i.e. times its fan-out) refilled per second. */
  bytesPerSecond: number;
  /** Bytes a socket may spend at once. */
  bytesBurst: number;
}

/** What the room may relay to one member: a budget refilled over time (recipient-budget.ts). */
export interface RecipientBudget {
  perSecond: number;
  burst: number;
}

export interface RoomConfig {
  capacity: number;
  /** Sockets open at once, joined or not (beyond it: `room_full`, 4429). */
  maxSockets: number;
  rate: RateLimit;
  recipient: RecipientBudget;
  /** A socket that has not joined this long after it connected is closed with 4440. */
  joinDeadlineMs: number;
  /** A member silent (no frame, no heartbeat ping) this long is disconnected with 4441. */
  heartbeatTimeoutMs: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; ");
}

/** Reads the room rules' settings; absent vars take their defaults. */
export function readRoomConfig(env: RoomVars): Parsed<RoomConfig> {
  const parsed = RoomSettings.safeParse(env);
  if (!parsed.success) return { ok: false, error: `bad Worker vars: ${describe(parsed.error)}` };
  const s = parsed.data;
  return {
    ok: true,
    value: {
      capacity: s.ROOM_CAPACITY,
      maxSockets: Math.max(s.ROOM_MAX_SOCKETS ?? s.ROOM_CAPACITY + SOCKET_SLACK, s.ROOM_CAPACITY),
      rate: {
        perSecond: s.RATE_LIMIT_PER_SECOND,
        burst: s.RATE_LIMIT_BURST,
        strikes: s.RATE_LIMIT_STRIKES,
        bytesPerSecond: s.RATE_LIMIT_BYTES_PER_SECOND,
        bytesBurst: s.RATE_LIMIT_BYTES_BURST,
      },
      recipient: { perSecond: s.RECIPIENT_BYTES_PER_SECOND, burst: s.RECIPIENT_BYTES_BURST },
      joinDeadlineMs: s.JOIN_DEADLINE_SECONDS * 1000,
      heartbeatTimeoutMs: s.HEARTBEAT_TIMEOUT_SECONDS * 1000,
    },
  };
}
