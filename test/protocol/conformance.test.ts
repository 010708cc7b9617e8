// Conformance of the real Worker (`wrangler dev`, as `npm run dev:worker` runs it) to
// docs/protocol.md, checked by a client written from the document alone. Capacity is lowered to 3
// so room_full is reachable, and the burst allowance raised so the 1,000-frame burst measures
// ordering, not limits.
import { randomBytes } from "node:crypto";
import { get } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type StartedWorker, startWorker } from "../support/worker";
import { randomId } from "../support/ids";
import { bytes, type Json, SpecClient } from "./spec-client";

let worker: StartedWorker;
const clients: SpecClient[] = [];

beforeAll(async () => {
  worker = await startWorker({ vars: { ROOM_CAPACITY: "3", RATE_LIMIT_BURST: "5000" } });
});
afterAll(async () => {
  await worker?.stop();
});
afterEach(() => {
  for (const client of clients.splice(0)) client.terminate();
});

async function join(roomId: string, announcement?: string) {
  const joined = await SpecClient.join(worker.wsUrl(roomId), announcement);
  clients.push(joined.client);
  return joined;
}

async function connect(roomId: string) {
  const client = await SpecClient.connect(worker.wsUrl(roomId));
  clients.push(client);
  return client;
}

/** A WebSocket upgrade request that is expected to be refused: its status and JSON body. */
function upgradeAttempt(url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = get(url, {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        "Sec-WebSocket-Version": "13",
      },
      timeout: 15_000,
    });
    request.once("upgrade", (_response, socket) => {
      socket.destroy();
      reject(new Error("the upgrade was accepted"));
    });
    request.once("response", (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.once("end", () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }),
      );
    });
    request.once("timeout", () => request.destroy(new Error("no answer")));
    request.once("error", reject);
  });
}

function jwtClaims(token: unknown): Json {
  if (typeof token !== "string") throw new Error("token must be a string");
  const [, payload] = token.split(".");
  return JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as Json;
}

describe("HTTP", () => {
  it("health, bad room id, upgrade required", async () => {
    const health = await fetch(`${worker.origin}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });

    const bad = await upgradeAttempt(`${worker.origin}/v1/rooms/not-an-id/ws`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: "bad_room_id", message: expect.any(String) } });

    const plain = await fetch(`${worker.origin}/v1/rooms/${randomId()}/ws`);
    expect(plain.status).toBe(426);
    expect(await plain.json()).toMatchObject({ error: { code: "upgrade_required" } });
  });

  it("serves the web app (or its placeholder) on the same origin, with SPA fallback", async () => {
    for (const path of ["/", "/call/some-room"]) {
      const page = await fetch(`${worker.origin}${path}`);
      expect(page.status, path).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
    }
  });
});

describe("session", () => {
  it("join, welcome, member-joined, send/message, broadcast, token, leave/member-left", async () => {
    const roomId = randomId();
    const { client: a, welcome: wa } = await join(roomId, bytes("a"));
    expect(wa).toMatchObject({
      type: "welcome",
      v: 1,
      self: { participantId: a.participantId, seq: expect.any(Number) },
      members: [],
      livekit: { url: expect.any(String), token: expect.any(String) },
    });
    const claims = jwtClaims((wa.livekit as Json).token);
    expect(claims.sub).toBe(a.participantId);
    expect(claims.video).toMatchObject({ room: roomId, roomJoin: true });
    expect(claims).not.toHaveProperty("name");
    expect(claims).not.toHaveProperty("metadata");
    expect(Number(claims.exp) - Number(claims.nbf)).toBeLessThanOrEqual(600);

    const { client: b, welcome: wb } = await join(roomId, bytes("b"));
    const seqA = (wa.self as Json).seq as number;
    const seqB = (wb.self as Json).seq as number;
    expect(seqB).toBeGreaterThan(seqA);
    expect(wb.members).toEqual([
      { participantId: a.participantId, seq: seqA, announcement: bytes("a") },
    ]);
    expect(await a.next("member-joined")).toEqual({
      type: "member-joined",
      member: { participantId: b.participantId, seq: seqB, announcement: bytes("b") },
    });
    const { client: c, welcome: wc } = await join(roomId, bytes("c"));
    expect(((wc.members as Json[]) ?? []).map((m) => m.participantId)).toEqual([
      a.participantId,
      b.participantId,
    ]);
    await a.next("member-joined");
    await b.next("member-joined");

    a.send({
      type: "send",
      messages: [
        { to: b.participantId, payload: bytes("for b") },
        { to: c.participantId, payload: bytes("for c") },
      ],
    });
    expect(await b.next("message")).toEqual({
      type: "message",
      from: a.participantId,
      payload: bytes("for b"),
    });
    expect(await c.next("message")).toEqual({
      type: "message",
      from: a.participantId,
      payload: bytes("for c"),
    });

    b.send({ type: "broadcast", payload: bytes("hello all") });
    for (const other of [a, c])
      expect(await other.next("broadcast")).toEqual({
        type: "broadcast",
        from: b.participantId,
        payload: bytes("hello all"),
      });

    c.send({ type: "token" });
    const token = await c.next("token");
    expect(jwtClaims((token.livekit as Json).token).sub).toBe(c.participantId);

    b.send({ type: "leave" });
    for (const other of [a, c])
      expect(await other.next("member-left")).toEqual({
        type: "member-left",
        participantId: b.participantId,
        seq: seqB,
      });
    c.terminate();
    expect(await a.next("member-left")).toMatchObject({ participantId: c.participantId });
  });

  it("errors: not_joined, bad_message, already_joined, unknown_recipient, payload_too_large", async () => {
    const roomId = randomId();
    const p = await connect(roomId);
    p.send({ type: "token" });
    await p.error("not_joined");
    p.send("{not json");
    await p.error("bad_message");
    p.sendBinary(new Uint8Array([1, 2, 3]));
    await p.error("bad_message");
    p.send({ type: "join", v: 1, participantId: p.participantId, announcement: "A".repeat(2000) });
    await p.error("payload_too_large");
    p.send({ type: "join", v: 1, participantId: p.participantId, announcement: bytes("p") });
    await p.next("welcome");
    p.send({ type: "join", v: 1, participantId: p.participantId, announcement: bytes("p") });
    await p.error("already_joined");

    const { client: q } = await join(roomId);
    await p.next("member-joined");
    p.send({
      type: "send",
      messages: [
        { to: randomId(), payload: bytes("lost") },
        { to: q.participantId, payload: bytes("kept") },
      ],
    });
    await p.error("unknown_recipient");
    expect(await q.next("message")).toMatchObject({ payload: bytes("kept") });
    p.send({ type: "broadcast", payload: "A".repeat(90_000) });
    await p.error("payload_too_large");
    // Still open and working.
    p.send({ type: "broadcast", payload: bytes("still here") });
    expect(await q.next("broadcast")).toMatchObject({ payload: bytes("still here") });
  });

  it("close codes: 4400 unsupported_version, 4409 duplicate_participant, 4429 room_full", async () => {
    const roomId = randomId();
    const old = await connect(roomId);
    old.send({ type: "join", v: 2, participantId: old.participantId, announcement: bytes("x") });
    await old.error("unsupported_version");
    expect((await old.closed()).code).toBe(4400);

    const { client: a } = await join(roomId);
    const dup = await connect(roomId);
    dup.send({ type: "join", v: 1, participantId: a.participantId, announcement: bytes("x") });
    await dup.error("duplicate_participant");
    expect((await dup.closed()).code).toBe(4409);

    await join(roomId);
    await join(roomId);
    const late = await connect(roomId);
    late.send({ type: "join", v: 1, participantId: late.participantId, announcement: bytes("x") });
    await late.error("room_full");
    expect((await late.closed()).code).toBe(4429);
  });
});

describe("delivery", () => {
  it("delivers 1,000 separate frames from each of two senders once and in order", async () => {
    const roomId = randomId();
    const { client: receiver } = await join(roomId);
    const { client: s1 } = await join(roomId);
    const { client: s2 } = await join(roomId);
    await receiver.next("member-joined");
    await receiver.next("member-joined");
    await s1.next("member-joined");
    const payload = (sender: number, i: number) => bytes(`${sender}:${i}`);
    for (let i = 0; i < 1000; i++) {
      s1.send({ type: "send", messages: [{ to: receiver.participantId, payload: payload(1, i) }] });
      s2.send({ type: "send", messages: [{ to: receiver.participantId, payload: payload(2, i) }] });
    }
    const got = new Map<unknown, unknown[]>([
      [s1.participantId, []],
      [s2.participantId, []],
    ]);
    for (let n = 0; n < 2000; n++) {
      const message = await receiver.next("message");
      got.get(message.from)?.push(message.payload);
    }
    const expected = (sender: number) => Array.from({ length: 1000 }, (_, i) => payload(sender, i));
    expect(got.get(s1.participantId)).toEqual(expected(1));
    expect(got.get(s2.participantId)).toEqual(expected(2));
    s2.send({ type: "broadcast", payload: bytes("end") });
    expect(await receiver.next()).toMatchObject({ type: "broadcast", payload: bytes("end") });
  });
});
