// The headers every page and asset of the web app is served with. The call secret lives in the page
// (the URL fragment, then memory), so a script injected into it is the whole game: the policy allows
// scripts and workers only from our own origin, no inline script or style, and network connections
// only to this origin (the signalling API) and the SFU the Worker is configured with. The SFU origin
// comes from LIVEKIT_URL, the same setting the Worker hands to clients with their LiveKit token, so a
// deployment's policy can never name a different SFU than the one its members are sent to.

/** What the headers depend on: the Worker's vars, as far as they matter here. */
interface SecurityHeaderEnv {
  LIVEKIT_URL?: unknown;
}

/** The Worker's static-assets binding (wrangler `assets.binding`). */
export interface AssetFetcher {
  fetch(request: Request): Promise<Response>;
}

/**
 * The origins livekit-client reaches for a LiveKit URL: the WebSocket form for signalling and the
 * HTTP form, which it fetches to validate a failed connection and to probe the server when the
 * browser goes on- or offline. LiveKit Cloud hands out per-region hosts under the project's domain,
 * so a Cloud URL also allows its sibling hosts. A missing or malformed URL allows no SFU at all: the
 * Worker refuses tokens then anyway (503 livekit_not_configured).
 */
export function sfuSources(livekitUrl: unknown): string[] {
  if (typeof livekitUrl !== "string") return [];
  let url: URL;
  try {
    url = new URL(livekitUrl);
  } catch {
    return [];
  }
  const secure = url.protocol === "wss:" || url.protocol === "https:";
  if (!secure && url.protocol !== "ws:" && url.protocol !== "http:") return [];
  // Only the host and port: a path in a source expression would restrict the socket's path, and
  // livekit appends its own (/rtc, /rtc/validate).
  const hosts = [url.host];
  if (url.hostname.endsWith(".livekit.cloud")) hosts.push("*.livekit.cloud");
  return hosts.flatMap((host) =>
    secure ? [`wss://${host}`, `https://${host}`] : [`ws://${host}`, `http://${host}`],
  );
}

/**
 * The Content-Security-Policy, one directive per need:
 * - script-src, worker-src 'self': the bundle and livekit's E2EE worker (a module worker loaded
 *   from our origin, never a blob:); no inline script, no eval.
 * - style-src 'self': the one stylesheet; the app sets styles only through the CSSOM, which the
 *   policy does not govern, never through style attributes or <style> elements.
 * - img-src 'self' data:: the empty `data:,` favicon of index.html (it keeps browsers from asking
 *   for /favicon.ico).
 * - connect-src 'self' + the SFU: the signalling WebSocket is same-origin ('self' covers ws: and
 *   wss: of our own host); the SFU in both forms (sfuSources).
 * - media: video and audio elements play MediaStreams through srcObject, which is not a fetch, so
 *   media-src stays at default-src 'none'.
 * - default-src 'none', object-src, base-uri, form-action 'none', frame-ancestors 'none': nothing
 *   else is loaded, no <base> may redirect relative URLs, no form posts anywhere, and no other site
 *   may frame the page (clickjacking the "Join" button, reading the screen by overlay).
 */
function contentSecurityPolicy(env: SecurityHeaderEnv): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    ["connect-src 'self'", ...sfuSources(env.LIVEKIT_URL)].join(" "),
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Camera, microphone and screen capture for our own origin; the other powerful features this app
 * never uses are denied outright, so that even an injected script could not reach them. Only
 * features Chromium knows are listed: it logs an error for every name it does not recognise.
 */
export const PERMISSIONS_POLICY = [
  "camera=(self)",
  "microphone=(self)",
  "display-capture=(self)",
  "accelerometer=()",
  "bluetooth=()",
  "geolocation=()",
  "gyroscope=()",
  "hid=()",
  "magnetometer=()",
  "midi=()",
  "payment=()",
  "publickey-credentials-get=()",
  "serial=()",
  "usb=()",
  "xr-spatial-tracking=()",
].join(", ");

/**
 * All security headers of an app response. Cross-origin isolation (COOP + COEP require-corp) costs
 * nothing here: the app loads no cross-origin subresource, its SFU requests are CORS fetches and
 * WebSockets (not governed by COEP), and media arrives over WebRTC. It keeps other sites' windows
 * out of our browsing context group and our process.
 */
function securityHeaders(env: SecurityHeaderEnv): Record<string, string> {
  return {
    "Content-Security-Policy": contentSecurityPolicy(env),
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
  };
}

/**
 * Serves a request for the web app from the static assets with the security headers attached, or
 * returns undefined when this Worker has no assets binding (the workerd test configuration), so
 * the caller answers as for any unknown route.
 */
export async function serveApp(
  request: Request,
  env: SecurityHeaderEnv & { ASSETS?: AssetFetcher },
): Promise<Response | undefined> {
  if (env.ASSETS === undefined) return undefined;
  const asset = await env.ASSETS.fetch(request);
  const response = new Response(asset.body, asset);
  for (const [name, value] of Object.entries(securityHeaders(env))) {
    response.headers.set(name, value);
  }
  return response;
}
