// The deployed entry (worker/src/app.ts) inside workerd: the web app comes from the assets binding
// with every security header, its Content-Security-Policy naming the configured SFU, and /v1/* still
// reaches the signalling API. The assets are a stand-in binding: the workerd test configuration has
// no assets (web/dist may be rebuilt while these tests run); the browser suite fetches the real ones
// (test/e2e/headers.test.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../worker/src/app";
import { sfuSources } from "../../worker/src/security-headers";
import { expectedSecurityHeaders as expectedHeaders, headersOf } from "../support/security-headers";

const origin = "http://hush.test";

/** A stand-in for the static assets: answers every path with a small page and records the paths. */
function assets() {
  const paths: string[] = [];
  return {
    paths,
    async fetch(request: Request) {
      paths.push(new URL(request.url).pathname);
      return new Response("<!doctype html><title>Hush</title>", {
        headers: { "content-type": "text/html; charset=utf-8", etag: '"v1"' },
      });
    },
  };
}

describe("security headers of the web app", () => {
  it("serves the app with every header, exactly, and the configured SFU in connect-src", async () => {
    const binding = assets();
    const response = await app.fetch(new Request(`${origin}/`), {
      ...env,
      LIVEKIT_URL: "wss://sfu.example.org",
      ASSETS: binding,
    });
    expect(response.status).toBe(200);
    const expected = expectedHeaders("'self' wss://sfu.example.org https://sfu.example.org");
    expect(headersOf(response, Object.keys(expected))).toEqual(expected);
    // The asset's own headers survive.
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("etag")).toBe('"v1"');
    expect(await response.text()).toContain("<title>Hush</title>");
    expect(binding.paths).toEqual(["/"]);
  });

  it("gives every app path the headers: scripts, the E2EE worker, deep links", async () => {
    const binding = assets();
    for (const path of ["/assets/index-abc.js", "/assets/e2eeWorker-abc.js", "/some/deep/link"]) {
      const response = await app.fetch(new Request(`${origin}${path}`), {
        ...env,
        ASSETS: binding,
      });
      const expected = expectedHeaders("'self' ws://127.0.0.1:7880 http://127.0.0.1:7880");
      expect(headersOf(response, Object.keys(expected)), path).toEqual(expected);
    }
    expect(binding.paths).toEqual([
      "/assets/index-abc.js",
      "/assets/e2eeWorker-abc.js",
      "/some/deep/link",
    ]);
  });

  it("keeps /v1/* on the signalling API, never the assets", async () => {
    const binding = assets();
    const health = await app.fetch(new Request(`${origin}/v1/health`), { ...env, ASSETS: binding });
    expect(await health.json()).toEqual({ ok: true });
    const unknown = await app.fetch(new Request(`${origin}/v1/nope`), { ...env, ASSETS: binding });
    expect(unknown.status).toBe(404);
    expect(binding.paths).toEqual([]);
  });

  it("answers like the API when there are no assets (a Worker deployed without the app)", async () => {
    const response = await app.fetch(new Request(`${origin}/`), env);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("allows no SFU at all when LIVEKIT_URL is missing or malformed", async () => {
    for (const url of [undefined, "", "not a url", "ftp://sfu.example.org", 42]) {
      const response = await app.fetch(new Request(`${origin}/`), {
        ...env,
        LIVEKIT_URL: url,
        ASSETS: assets(),
      });
      expect(response.headers.get("content-security-policy"), String(url)).toContain(
        "connect-src 'self'; ",
      );
    }
  });
});

describe("SFU sources of connect-src", () => {
  it("names the SFU's host and port in its WebSocket and HTTP forms, without its path", () => {
    expect(sfuSources("ws://127.0.0.1:7880")).toEqual([
      "ws://127.0.0.1:7880",
      "http://127.0.0.1:7880",
    ]);
    expect(sfuSources("wss://sfu.example.org:8443/livekit")).toEqual([
      "wss://sfu.example.org:8443",
      "https://sfu.example.org:8443",
    ]);
    expect(sfuSources("https://sfu.example.org")).toEqual([
      "wss://sfu.example.org",
      "https://sfu.example.org",
    ]);
  });

  it("allows LiveKit Cloud's region hosts for a Cloud URL", () => {
    expect(sfuSources("wss://project.livekit.cloud")).toEqual([
      "wss://project.livekit.cloud",
      "https://project.livekit.cloud",
      "wss://*.livekit.cloud",
      "https://*.livekit.cloud",
    ]);
  });
});
