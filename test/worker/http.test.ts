// The HTTP routes of docs/protocol.md: health, the WebSocket route's refusals and their JSON
// bodies.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/src/index";
import { randomId } from "../support/ids";

const origin = "http://hush.test";

async function errorOf(response: Response) {
  const body: unknown = await response.json();
  expect(body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  return body as { error: { code: string; message: string } };
}

describe("HTTP routes", () => {
  it("GET /v1/health answers 200 {ok:true}", async () => {
    const response = await exports.default.fetch(`${origin}/v1/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(await response.json()).toEqual({ ok: true });
  });

  it("refuses a malformed room id with 400 bad_room_id", async () => {
    const bad = [
      "short",
      `${randomId()}A`,
      randomId().slice(0, 21),
      "AAAAAAAAAAAAAAAAAAAAA+",
      "AAAAAAAAAAAAAAAAAAAA==",
      "AAAAAAAAAAAAAAAAAAAA%41",
      "",
    ];
    for (const roomId of bad) {
      const response = await exports.default.fetch(`${origin}/v1/rooms/${roomId}/ws`, {
        headers: { Upgrade: "websocket" },
      });
      expect(response.status, roomId).toBe(400);
      expect((await errorOf(response)).error.code).toBe("bad_room_id");
    }
  });

  it("refuses a request without Upgrade: websocket with 426 upgrade_required", async () => {
    const response = await exports.default.fetch(`${origin}/v1/rooms/${randomId()}/ws`);
    expect(response.status).toBe(426);
    expect((await errorOf(response)).error.code).toBe("upgrade_required");
  });

  it("answers 101 with a WebSocket for a well-formed room id", async () => {
    const response = await exports.default.fetch(`${origin}/v1/rooms/${randomId()}/ws`, {
      headers: { Upgrade: "websocket" },
    });
    expect(response.status).toBe(101);
    expect(response.webSocket).not.toBeNull();
    response.webSocket?.accept();
    response.webSocket?.close(1000, "done");
  });

  it("answers unknown routes with a JSON 404", async () => {
    for (const path of [
      "/v1/rooms",
      "/v1/nope",
      `/v1/rooms/${randomId()}/ws/extra`,
      "/v2/health",
    ]) {
      const response = await exports.default.fetch(`${origin}${path}`);
      expect(response.status, path).toBe(404);
      expect((await errorOf(response)).error.code).toBe("not_found");
    }
  });

  it("refuses to admit anyone when LIVEKIT_API_SECRET is missing, with a clear error", async () => {
    const { LIVEKIT_API_SECRET: _secret, ...withoutSecret } = env;
    const response = await worker.fetch(
      new Request(`${origin}/v1/rooms/${randomId()}/ws`, { headers: { Upgrade: "websocket" } }),
      withoutSecret,
    );
    expect(response.status).toBe(503);
    const { error } = await errorOf(response);
    expect(error.code).toBe("livekit_not_configured");
    expect(error.message).toContain("LIVEKIT_API_SECRET");
    expect(error.message).toContain("wrangler secret put");
  });

  it("reports bad limits by name instead of guessing", async () => {
    const response = await worker.fetch(
      new Request(`${origin}/v1/rooms/${randomId()}/ws`, { headers: { Upgrade: "websocket" } }),
      { ...env, ROOM_CAPACITY: "lots" },
    );
    expect(response.status).toBe(500);
    expect((await errorOf(response)).error.message).toContain("ROOM_CAPACITY");
  });
});
