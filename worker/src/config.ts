// The Worker's bindings and settings. Vars arrive as strings (wrangler `--var`, dashboard) or as JSON
// values (wrangler.jsonc), so every setting is parsed here once, with its default and its bounds, and
// a misconfiguration is reported by name instead of surfacing later as odd behaviour.
import { z } from "zod";
import { count, describe, type Parsed, type RoomVars } from "./room-config";
import type { Room } from "./room-object";

/** The platform's rate-limiting binding (wrangler `ratelimits`), as far as the Worker uses it. */
export interface ClientLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

export interface Env extends RoomVars {
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
  TOKEN_TTL_SECONDS?: unknown;
}

/** LiveKit tokens may live at most 10 minutes (docs/protocol.md, Server messages). */
const MAX_TOKEN_TTL_SECONDS = 600;

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
