// The per-client limit on WebSocket upgrades (sockets and rooms opened), counted by the platform's
// rate-limiting binding. The binding needs a key per client; the key is a keyed hash (HMAC-SHA-256)
// of the client's address, never the address itself, so nothing the platform counts, and nothing
// this Worker keeps or logs, holds an address. The hash key is the deployment's CLIENT_KEY_SECRET;
// without one, a random key per isolate (limits then count per isolate, which is weaker but still
// holds no address).
import type { ClientConfig, ClientLimiter } from "./config";

/** Where the platform puts the address of the client that opened the connection. */
const ADDRESS_HEADER = "CF-Connecting-IP";

const encoder = new TextEncoder();
let isolateKey: Promise<CryptoKey> | null = null;
const keys = new Map<string, Promise<CryptoKey>>();

function hashKey(secret: string | undefined): Promise<CryptoKey> {
  if (secret === undefined) {
    isolateKey ??= crypto.subtle.importKey(
      "raw",
      crypto.getRandomValues(new Uint8Array(32)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    return isolateKey;
  }
  let key = keys.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    keys.set(secret, key);
  }
  return key;
}

/** The client's limiter key: 16 bytes of HMAC(secret, address), base64url. */
async function clientKey(request: Request, secret: string | undefined): Promise<string> {
  const address = request.headers.get(ADDRESS_HEADER) ?? "";
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", await hashKey(secret), encoder.encode(address)),
  );
  let binary = "";
  for (const byte of mac.subarray(0, 16)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Whether this upgrade is within the client's allowance (always, when the limit is off or unbound). */
export async function admitClient(
  request: Request,
  limiter: ClientLimiter | undefined,
  config: ClientConfig,
): Promise<boolean> {
  if (!config.enabled || limiter === undefined) return true;
  const { success } = await limiter.limit({ key: await clientKey(request, config.secret) });
  return success;
}
