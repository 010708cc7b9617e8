// The security headers the Worker must send with the web app, spelled out literally (not computed
// with the Worker's own code, so a change to the policy has to change this file too). Shared by the
// workerd test (test/worker/security-headers.test.ts) and the browser suite's fetch of the real app.

export const PERMISSIONS_POLICY =
  "camera=(self), microphone=(self), display-capture=(self), accelerometer=(), bluetooth=(), " +
  "geolocation=(), gyroscope=(), hid=(), magnetometer=(), midi=(), payment=(), " +
  "publickey-credentials-get=(), serial=(), usb=(), xr-spatial-tracking=()";

/** Every header, lower-case name to exact value, for a `connect-src` of `connectSrc`. */
export function expectedSecurityHeaders(connectSrc: string): Record<string, string> {
  return {
    "content-security-policy":
      "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; " +
      `img-src 'self' data:; connect-src ${connectSrc}; object-src 'none'; base-uri 'none'; ` +
      "form-action 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "permissions-policy": PERMISSIONS_POLICY,
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cross-origin-resource-policy": "same-origin",
  };
}

/** The named headers of a response, for comparing against expectedSecurityHeaders. */
export function headersOf(
  response: { headers: { get(name: string): string | null } },
  names: string[],
): Record<string, string | null> {
  return Object.fromEntries(names.map((name) => [name, response.headers.get(name)]));
}
