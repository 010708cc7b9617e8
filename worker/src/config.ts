// The Worker's bindings and settings. Vars arrive as strings (wrangler `--var`, dashboard) or as JSON
// values (wrangler.jsonc), so every setting is parsed here once, with its default and its bounds, and
// a misconfiguration is reported by name instead of surfacing later as odd behaviour.
import { z } from "zod";
import type { Room } from "./room-object";

/** The platform's rate-limiting binding (wrangler `ratelimits`), as far as the Worker uses it. */
export interface ClientLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

export interface Env {
  ROOMS: DurableObjectNamespace<Room>;
  /** Upgrades per client (keyed hash of its address) per period; see client-key.ts. */
  CLIENT_LIMITER?: ClientLimiter;
  /** Per-deployment secret of that keyed hash (a `wrangler secret` in production). */
  CLIENT_KEY_SECRET?: unknown;
  /** "on" (default) or "off": whether upgrades are counted per client at all. */
  CLIENT_CONNECT_LIMIT?: unknown;
  LIVEKIT_URL?: unknown;
  LIVEKIT_API_KEY?: unknown;
  LIVEKIT_API_SECRET?: unknown;
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
  TOKEN_TTL_SECONDS?: unknown;
}

/** LiveKit tokens may live at most 10 minutes (docs/protocol.md, Server messages). */
const MAX_TOKEN_TTL_SECONDS = 600;

const count = (fallback: number, max: number) =>
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

const ClientSettings = z.object({
  CLIENT_CONNECT_LIMIT: z.enum(["on", "off"]).default("on"),
  CLIENT_KEY_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
});

const SECRET_MISSING = "is not set: run `wrangler secret put LIVEKIT_API_SECRET`";

const LiveKitSettings = z.object({
  LIVEKIT_URL: z.url({ protocol: /^wss?$/, error: "must be a ws:// or wss:// URL" }),
  LIVEKIT_API_KEY: z.string().min(1),
  LIVEKIT_API_SECRET: z.string({ error: SECRET_MISSING }).min(1, SECRET_MISSING),
  TOKEN_TTL_SECONDS: count(MAX_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS),
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

export interface ClientConfig {
  enabled: boolean;
  secret: string | undefined;
}

export interface LiveKitConfig {
  url: string;
  apiKey: string;
  apiSecret: string;
  ttlSeconds: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; ");
}

/** Reads the room rules' settings; absent vars take their defaults. */
export function readRoomConfig(env: Env): Parsed<RoomConfig> {
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

/** Reads the per-client connection limit's settings. */
export function readClientConfig(env: Env): Parsed<ClientConfig> {
  const parsed = ClientSettings.safeParse(env);
  if (!parsed.success) return { ok: false, error: `bad Worker vars: ${describe(parsed.error)}` };
  return {
    ok: true,
    value: {
      enabled: parsed.data.CLIENT_CONNECT_LIMIT === "on",
      secret: parsed.data.CLIENT_KEY_SECRET,
    },
  };
}

/** Reads what minting a LiveKit token needs; a missing secret is an error, never a default. */
export function readLiveKitConfig(env: Env): Parsed<LiveKitConfig> {
  const parsed = LiveKitSettings.safeParse(env);
  if (!parsed.success)
    return { ok: false, error: `LiveKit is not configured: ${describe(parsed.error)}` };
  const s = parsed.data;
  return {
    ok: true,
    value: {
      url: s.LIVEKIT_URL,
      apiKey: s.LIVEKIT_API_KEY,
      apiSecret: s.LIVEKIT_API_SECRET,
      ttlSeconds: s.TOKEN_TTL_SECONDS,
    },
  };
}
