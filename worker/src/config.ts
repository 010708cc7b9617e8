// The Worker's bindings and settings. Vars arrive as strings (wrangler `--var`, dashboard) or as JSON
// values (wrangler.jsonc), so every setting is parsed here once, with its default and its bounds, and
// a misconfiguration is reported by name instead of surfacing later as odd behaviour.
import { z } from "zod";
import type { Room } from "./room-object";

export interface Env {
  ROOMS: DurableObjectNamespace<Room>;
  LIVEKIT_URL?: unknown;
  LIVEKIT_API_KEY?: unknown;
  LIVEKIT_API_SECRET?: unknown;
  ROOM_CAPACITY?: unknown;
  RATE_LIMIT_PER_SECOND?: unknown;
  RATE_LIMIT_BURST?: unknown;
  RATE_LIMIT_STRIKES?: unknown;
  TOKEN_TTL_SECONDS?: unknown;
}

/** LiveKit tokens may live at most 10 minutes (PROTOCOL.md). */
export const MAX_TOKEN_TTL_SECONDS = 600;

const count = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

const RoomSettings = z.object({
  ROOM_CAPACITY: count(100, 10_000),
  RATE_LIMIT_PER_SECOND: count(200, 1_000_000),
  RATE_LIMIT_BURST: count(1000, 1_000_000),
  RATE_LIMIT_STRIKES: count(100, 1_000_000),
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
}

export interface RoomConfig {
  capacity: number;
  rate: RateLimit;
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
      rate: {
        perSecond: s.RATE_LIMIT_PER_SECOND,
        burst: s.RATE_LIMIT_BURST,
        strikes: s.RATE_LIMIT_STRIKES,
      },
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
