// The local development SFU as `npm run sfu` and `npm start` run it: the pinned livekit-server from
// .cache/livekit/bin, sfu-config/livekit.yaml, and the API key pair from the environment (devkey /
// secret when unset). The ports are read from the config file so that it stays the one place they
// are written down.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
export const LIVEKIT_BIN = fileURLToPath(new URL("../.cache/livekit/bin/server", import.meta.url));
export const SFU_CONFIG = fileURLToPath(new URL("../sfu-config/livekit.yaml", import.meta.url));
const ENSURE_SCRIPT = fileURLToPath(new URL("./ensure-livekit.sh", import.meta.url));

/** Only what we need from the config; livekit-server itself validates the rest strictly. */
const LocalConfig = z.object({
  port: z.number().int().positive(),
  rtc: z.object({
    tcp_port: z.number().int().positive(),
    udp_port: z.number().int().positive(),
  }),
});

export interface SfuPorts {
  /** HTTP + WebSocket signalling */
  signal: number;
  /** ICE over TCP */
  rtcTcp: number;
  /** ICE over UDP (one muxed port) */
  rtcUdp: number;
}

export function readSfuPorts(configFile = SFU_CONFIG): SfuPorts {
  const parsed = LocalConfig.safeParse(parse(readFileSync(configFile, "utf8")));
  if (!parsed.success) {
    throw new Error(
      `${configFile} must set port, rtc.tcp_port and a single rtc.udp_port: ${parsed.error.message}`,
    );
  }
  return {
    signal: parsed.data.port,
    rtcTcp: parsed.data.rtc.tcp_port,
    rtcUdp: parsed.data.rtc.udp_port,
  };
}

export interface ApiKeys {
  apiKey: string;
  apiSecret: string;
}

/** The local key pair: LIVEKIT_API_KEY / LIVEKIT_API_SECRET, defaulting to the well-known dev pair. */
export function localSfuKeys(env: NodeJS.ProcessEnv = process.env): ApiKeys {
  return { apiKey: env.LIVEKIT_API_KEY || "devkey", apiSecret: env.LIVEKIT_API_SECRET || "secret" };
}

/**
 * The environment livekit-server reads its keys from (LIVEKIT_KEYS = "key: secret"), so they never
 * appear on a command line.
 */
export function sfuEnvironment(keys: ApiKeys): NodeJS.ProcessEnv {
  return { ...process.env, LIVEKIT_KEYS: `${keys.apiKey}: ${keys.apiSecret}` };
}

/** Command line for the local SFU. */
export function sfuCommand(): { command: string; args: string[] } {
  return { command: LIVEKIT_BIN, args: ["--config", SFU_CONFIG] };
}

/** Runs scripts/ensure-livekit.sh (installs the pinned server if needed); false when it failed. */
export function ensureLiveKitInstalled(): boolean {
  const result = spawnSync("bash", [ENSURE_SCRIPT], { cwd: REPO_ROOT, stdio: "inherit" });
  return result.status === 0;
}
