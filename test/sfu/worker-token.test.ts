// The Worker's LiveKit tokens against the real SFU: a token the Worker mints for a room admits its
// holder to exactly that room under exactly its ephemeral id, and the SFU refuses tokens that were
// tampered with, signed with another secret, or expired. The Worker runs in workerd (wrangler dev),
// the SFU is the pinned livekit-server started from sfu-config/livekit.yaml.
import { createHmac, randomBytes } from "node:crypto";
import { dispose, Room } from "@livekit/rtc-node";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { z } from "zod";
import { ServerMessage } from "../../protocol/signalling";
import { type RunningLiveKit, startLiveKit } from "../support/livekit";
import { type StartedWorker, startWorker } from "../support/worker";
import { randomId } from "../support/ids";

let sfu: RunningLiveKit | undefined;
let worker: StartedWorker | undefined;
const rooms: Room[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  sfu = await startLiveKit();
  worker = await startWorker({
    vars: {
      LIVEKIT_URL: sfu.url,
      LIVEKIT_API_KEY: sfu.apiKey,
      LIVEKIT_API_SECRET: sfu.apiSecret,
    },
  });
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await Promise.allSettled(rooms.map((room) => room.disconnect()));
  // rtc-node keeps a native runtime alive until disposed; without this the worker may never exit.
  await dispose().catch(() => undefined);
  await worker?.stop();
  await sfu?.stop();
});

const b64u = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url");

/** Joins `roomId` over the signalling protocol and returns the LiveKit grant from `welcome`. */
async function joinViaWorker(roomId: string, participantId: string) {
  if (!worker) throw new Error("worker not started");
  const socket = new WebSocket(worker.wsUrl(roomId));
  sockets.push(socket);
  const welcome = new Promise<z.infer<typeof ServerMessage>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no welcome within 15 s")), 15_000);
    socket.once("error", reject);
    socket.on("message", (data) => {
      const message = ServerMessage.parse(JSON.parse(data.toString()));
      clearTimeout(timer);
      resolve(message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  socket.send(
    JSON.stringify({ type: "join", v: 1, participantId, announcement: b64u(randomBytes(64)) }),
  );
  const message = await welcome;
  if (message.type !== "welcome")
    throw new Error(`expected welcome, got ${JSON.stringify(message)}`);
  return message.livekit;
}

const Claims = z.object({
  sub: z.string(),
  iss: z.string(),
  exp: z.number(),
  nbf: z.number().optional(),
  name: z.string().optional(),
  metadata: z.string().optional(),
  attributes: z.record(z.string(), z.string()).optional(),
  video: z.object({ room: z.string(), roomJoin: z.boolean() }).loose(),
});

function decodeClaims(token: string) {
  const [, payload] = token.split(".");
  return Claims.parse(JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")));
}

/** An HS256 JWT over `claims`, for tokens the Worker would never mint. */
function signJwt(claims: object, secret: string): string {
  const header = b64u(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64u(JSON.stringify(claims));
  const signature = createHmac("sha256", secret).update(`${header}.${body}`).digest("base64url");
  return `${header}.${body}.${signature}`;
}

/** The SFU's answer to a signalling connection with `token`: "open" or the HTTP status it refused with. */
function tryRtcSocket(token: string): Promise<"open" | number> {
  if (!sfu) throw new Error("sfu not started");
  const socket = new WebSocket(`${sfu.url}/rtc?access_token=${token}&protocol=16`);
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer from the SFU within 10 s")), 10_000);
    socket.once("open", () => {
      clearTimeout(timer);
      socket.close();
      resolve("open");
    });
    socket.once("unexpected-response", (_request, response) => {
      clearTimeout(timer);
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function connect(url: string, token: string): Promise<Room> {
  const room = new Room();
  rooms.push(room);
  await room.connect(url, token, { autoSubscribe: false, dynacast: false });
  return room;
}

describe("tokens minted by the Worker, checked by the real livekit-server", () => {
  it("name the room and the ephemeral id only, and expire within 10 minutes", async () => {
    const roomId = randomId();
    const participantId = randomId();
    const grant = await joinViaWorker(roomId, participantId);
    expect(grant.url).toBe(sfu?.url);
    const claims = decodeClaims(grant.token);
    expect(claims.sub).toBe(participantId);
    expect(claims.iss).toBe(sfu?.apiKey);
    expect(claims.video.room).toBe(roomId);
    expect(claims.video.roomJoin).toBe(true);
    expect(claims.name ?? "").toBe("");
    expect(claims.metadata ?? "").toBe("");
    expect(claims.attributes ?? {}).toEqual({});
    expect(claims.exp - Date.now() / 1000).toBeLessThanOrEqual(600);
  });

  it("admit their holder to the room they name and to no other", async () => {
    if (!sfu) throw new Error("sfu not started");
    const roomA = randomId();
    const roomB = randomId();
    const alice = randomId();
    const bob = randomId();
    const grantA = await joinViaWorker(roomA, alice);
    const grantB = await joinViaWorker(roomB, bob);

    const inA = await connect(grantA.url, grantA.token);
    const inB = await connect(grantB.url, grantB.token);
    expect(inA.name).toBe(roomA);
    expect(inB.name).toBe(roomB);

    const service = new RoomServiceClient(sfu.httpUrl, sfu.apiKey, sfu.apiSecret);
    const identities = async (room: string) =>
      (await service.listParticipants(room)).map((p) => p.identity);
    expect(await identities(roomA)).toEqual([alice]);
    expect(await identities(roomB)).toEqual([bob]);
    // Neither sees the other: rooms are separate, whatever node or order.
    expect([...inA.remoteParticipants.keys()]).toEqual([]);
    expect([...inB.remoteParticipants.keys()]).toEqual([]);

    // Rewriting the room in A's token (to get into B) breaks its signature: refused.
    const [header, , signature] = grantA.token.split(".");
    const claims = decodeClaims(grantA.token);
    const redirected = `${header}.${b64u(JSON.stringify({ ...claims, video: { ...claims.video, room: roomB } }))}.${signature}`;
    expect(await tryRtcSocket(redirected)).toBe(401);
    expect(await identities(roomB)).toEqual([bob]);
  });

  it("are accepted as minted, and refused when forged or expired", async () => {
    if (!sfu) throw new Error("sfu not started");
    const roomId = randomId();
    const grant = await joinViaWorker(roomId, randomId());
    // The control: the same connection attempt with the real token opens.
    expect(await tryRtcSocket(grant.token)).toBe("open");

    const claims = decodeClaims(grant.token);
    const forged = signJwt(claims, randomBytes(32).toString("base64url"));
    expect(await tryRtcSocket(forged)).toBe(401);

    // livekit-server allows one minute of clock skew, so "expired" means more than that ago.
    const now = Math.floor(Date.now() / 1000);
    const expired = signJwt({ ...claims, nbf: now - 900, exp: now - 120 }, sfu.apiSecret);
    expect(await tryRtcSocket(expired)).toBe(401);
    // ...while the same claims signed with the right secret and a live exp are fine.
    const fresh = signJwt({ ...claims, nbf: now - 10, exp: now + 300 }, sfu.apiSecret);
    expect(await tryRtcSocket(fresh)).toBe("open");
  });
});
