// The Room keeps each socket's state in memory (room-object.ts, socketStates) instead of reading its
// attachment on every event. That is only sound if the runtime hands every event the same
// WebSocket object for a socket, and if the memory never drifts from the attachment (which is what
// survives hibernation). Both are checked here, in workerd, after joins, relays, a refused frame, a
// leave and a close.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readSocketState, type SocketState } from "../../worker/src/socket-state";
import { roomOfThree, TestClient } from "./client";
import { opaque } from "../support/ids";

function stubFor(roomId: string) {
  return env.ROOMS.get(env.ROOMS.idFromName(roomId));
}

/** For each of the room's sockets: the state in memory and the state in its attachment. */
function statesOf(roomId: string) {
  return runInDurableObject(stubFor(roomId), (instance, state) => {
    const cache = Reflect.get(instance, "socketStates") as WeakMap<WebSocket, SocketState>;
    return state.getWebSockets().map((ws) => ({
      cached: cache.get(ws) ?? null,
      attached: readSocketState(ws.deserializeAttachment()),
    }));
  });
}

describe("the room's socket states in memory", () => {
  it("are held for the very sockets the runtime hands out, and equal their attachments", async () => {
    const { roomId, a, b, c } = await roomOfThree();
    a.send({ type: "send", messages: [{ to: b.participantId, payload: opaque(8) }] });
    expect(await b.next("message")).toMatchObject({ from: a.participantId });
    c.send({ type: "broadcast", payload: opaque(9) });
    await a.next("broadcast");
    await b.next("broadcast");
    b.send({ type: "nonsense" } as never);
    expect(await b.next("error")).toMatchObject({ code: "bad_message" });
    const d = await TestClient.connect(roomId);
    b.send({ type: "leave" });
    await a.next("member-left");
    c.close();
    await a.next("member-left");

    const states = await statesOf(roomId);
    // a, d (connected, not joined), and b and c if the runtime still lists them while they close.
    expect(states.length).toBeGreaterThanOrEqual(2);
    for (const { cached, attached } of states) {
      expect(attached).not.toBeNull();
      expect(cached).toEqual(attached);
    }
    const phases = states.map((s) => s.cached?.phase).sort();
    expect(phases).toContain("joined");
    expect(phases).toContain("pending");
    d.close();
  });
});
