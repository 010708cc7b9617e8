// Red team (round 43, helper-41): sockets the room has closed whose peer never answers the close
// stay in ctx.getWebSockets() for as long as the peer keeps the connection. The socket cap
// (ROOM_MAX_SOCKETS, docs/protocol.md Limits) counted them, so a stranger with the link could open
// sockets, never read (never answering the 4440 close at the join deadline), and lock the room:
// every newcomer, and every member reconnecting, got room_full and 4429, which the client core
// treats as final. Now only pending and joined sockets count; the closed ones are bounded apart,
// at four times the cap, so they cannot take the room's memory without end either.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { opaque, randomId } from "../support/ids";
import { randomAddress, TestClient } from "./client";

// wrangler.test.jsonc: ROOM_MAX_SOCKETS 12, JOIN_DEADLINE_SECONDS 2.
const MAX_SOCKETS = 12;

const stubFor = (roomId: string) => env.ROOMS.get(env.ROOMS.idFromName(roomId));

/** The phase of every socket the runtime still lists for the room. */
const phases = (roomId: string) =>
  runInDurableObject(stubFor(roomId), (_instance, state) =>
    state.getWebSockets().map((ws) => (ws.deserializeAttachment() as { phase: string }).phase),
  );

/** `count` sockets, each from its own address, never accepted here: they never read or answer. */
async function silentSockets(roomId: string, count: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i++) {
    const response = await exports.default.fetch(`http://hush.test/v1/rooms/${roomId}/ws`, {
      headers: { Upgrade: "websocket", "CF-Connecting-IP": randomAddress() },
    });
    expect(response.status).toBe(101);
    sockets.push(response.webSocket as WebSocket);
  }
  return sockets;
}

/** Waits (bounded) until the room has closed `count` sockets at their join deadline. */
async function closedByRoom(roomId: string, count: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await phases(roomId)).filter((p) => p === "closed").length >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect((await phases(roomId)).filter((p) => p === "closed")).toHaveLength(count);
}

it("sockets the room closed (4440) but whose peer never answered do not keep the room full", async () => {
  const roomId = randomId();
  const { client: a } = await TestClient.join(roomId);
  await silentSockets(roomId, MAX_SOCKETS - 1);
  await closedByRoom(roomId, MAX_SOCKETS - 1);
  // A newcomer (or a member reconnecting after a drop) still gets in.
  const { client: b, welcome } = await TestClient.join(roomId, opaque(8));
  expect(welcome.members.map((m) => m.participantId)).toEqual([a.participantId]);
  expect((await a.next("member-joined")).member.participantId).toBe(b.participantId);
});

it("closed sockets beyond four times the cap: no new socket, and the members already in go on", async () => {
  const roomId = randomId();
  const { client: a } = await TestClient.join(roomId);
  const { client: b } = await TestClient.join(roomId, opaque(8));
  await a.next("member-joined");
  // Silent sockets in batches the cap allows beside a and b, each closed at its join deadline,
  // until the room lists one short of four times the cap.
  const limit = 4 * MAX_SOCKETS;
  let closed = 0;
  for (let batch = 0; batch < 10 && closed + 2 < limit - 1; batch++) {
    const count = Math.min(MAX_SOCKETS - 2, limit - 1 - (closed + 2));
    await silentSockets(roomId, count);
    closed += count;
    await closedByRoom(roomId, closed);
  }
  expect((await phases(roomId)).length).toBe(limit - 1);
  // One more fits (four times the cap listed); the next is refused, whatever is open.
  await silentSockets(roomId, 1);
  const refused = await exports.default.fetch(`http://hush.test/v1/rooms/${roomId}/ws`, {
    headers: { Upgrade: "websocket", "CF-Connecting-IP": randomAddress() },
  });
  const socket = refused.webSocket as WebSocket;
  socket.accept();
  const first = await new Promise<string>((resolve) =>
    socket.addEventListener("message", (event) => resolve(String(event.data)), { once: true }),
  );
  expect(JSON.parse(first)).toMatchObject({ type: "error", code: "room_full" });
  expect((await phases(roomId)).length).toBe(limit);
  // The members already in still reach each other.
  a.send({ type: "broadcast", payload: opaque(16) });
  expect((await b.next("broadcast")).from).toBe(a.participantId);
});
