// CallSession's observable surface on the simulator: the verified roster with decrypted display
// names, ghosts kept apart, one security code for everyone, the event order the LiveKit adapter
// relies on, tokens, and reconnection after a dropped socket.
import { describe, expect, it } from "vitest";
import { World } from "./sim/world.js";

function call(n: number, seed: number) {
  const world = new World({ seed });
  for (let i = 0; i < n; i++) {
    world.addClient();
    world.run(500);
  }
  world.run(3_000);
  return world;
}

describe("CallSession", () => {
  it("shows the verified roster with display names, leader flag and one security code", () => {
    const world = call(3, 1);
    const codes = new Set<string>();
    for (const client of world.clients) {
      const state = client.session.snapshot();
      expect(state.connection.status).toBe("joined");
      expect(state.roster.map((r) => [r.displayName, r.leader, r.verified])).toEqual([
        ["Client 0", true, true],
        ["Client 1", false, true],
        ["Client 2", false, true],
      ]);
      expect(state.grant?.token).toMatch(/^token-/);
      codes.add(state.securityCode);
    }
    expect(codes.size).toBe(1);
    world.addClient();
    world.run(2_000);
    const after = new Set(world.clients.map((c) => c.session.snapshot().securityCode));
    expect(after.size).toBe(1);
    expect([...after][0]).not.toBe([...codes][0]);
  });

  it("lists a server-made ghost as unverified, gives it nothing and leaves the code alone", () => {
    const world = call(3, 2);
    const code = world.clients[0]?.session.snapshot().securityCode;
    const ghost = world.addGhost(1); // a real member's announcement under a new id
    const other = world.addGhost(0); // random bytes
    world.run(10_000); // includes a periodic rotation
    for (const client of world.clients) {
      const state = client.session.snapshot();
      expect([...state.unverified].sort()).toEqual([ghost, other].sort());
      expect(state.roster).toHaveLength(3);
      expect(client.session.isVerified(ghost)).toBe(false);
      expect(client.session.isVerified(client.session.participantId)).toBe(true);
      expect(state.securityCode).toBe(code);
    }
    expect(world.violations).toEqual([]);
  });

  it("announces keys before switching to them, and sender keys agree across clients", () => {
    const world = new World({ seed: 3 });
    const order: string[] = [];
    const first = world.addClient();
    first.session.on("keys", (k) => order.push(`keys ${k.added.join(",")}`));
    first.session.on("sending", (s) => order.push(`sending ${s.epoch}`));
    world.run(1_000);
    world.addClient();
    world.run(3_000);
    expect(order.slice(0, 2)).toEqual(["keys 1,2,3", "sending 1"]);
    const [a, b] = world.clients;
    if (!a || !b) throw new Error("setup");
    const epoch = a.session.snapshot().sending.epoch;
    expect(b.session.snapshot().sending.epoch).toBe(epoch);
    for (const id of [a.session.participantId, b.session.participantId]) {
      expect(a.session.senderKey(epoch, id)).toEqual(b.session.senderKey(epoch, id));
    }
    expect(a.session.senderKey(epoch, a.session.participantId)).not.toEqual(
      a.session.senderKey(epoch, b.session.participantId),
    );
    expect(a.session.senderKey(999, a.session.participantId)).toBeUndefined();
  });

  it("answers token requests", async () => {
    const world = call(1, 4);
    const session = world.clients[0]?.session;
    if (!session) throw new Error("setup");
    const pending = session.requestToken();
    world.run(100);
    await expect(pending).resolves.toEqual({ url: "ws://sfu.invalid", token: "token-1-again" });
  });

  it("after a dropped socket stops sending, rejoins with the same id and is keyed again", () => {
    const world = call(3, 5);
    const client = world.clients[1];
    if (!client) throw new Error("setup");
    const statuses: string[] = [];
    const sending: number[] = [];
    client.session.on("connection", (c) => statuses.push(c.status));
    client.session.on("sending", (s) => sending.push(s.epoch));
    const id = client.session.participantId;
    world.dropSocket(client);
    world.run(5_000);
    expect(statuses).toEqual(["reconnecting", "joined"]);
    expect(sending[0]).toBe(0);
    expect(sending.at(-1)).toBeGreaterThan(0);
    expect(client.session.participantId).toBe(id);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    // It rejoined with a higher seq, so the leader stays the same.
    expect(client.session.snapshot().roster.at(-1)?.participantId).toBe(id);
  });

  it("answers everyone present in one frame when it joins a big call", () => {
    const world = call(12, 4);
    const hellosPerFrame: number[] = [];
    world.sentListeners.push((client, _connection, data) => {
      if (client !== joiner) return;
      const frame = JSON.parse(data) as { type: string; messages?: { payload: string }[] };
      // Hellos start with their tag byte 0x48 ("SA" in base64url); envelopes with version 1.
      const hellos = (frame.messages ?? []).filter((m) => m.payload.startsWith("SA"));
      if (hellos.length > 0) hellosPerFrame.push(hellos.length);
    });
    const joiner = world.addClient();
    world.run(3_000);
    expect(joiner.session.snapshot().roster).toHaveLength(13);
    // The 12 asks reach it over the relay's jitter; answers made in one turn leave together, so
    // there are far fewer frames than the 12 a hello per frame would take.
    expect(hellosPerFrame.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(12);
    expect(hellosPerFrame.length).toBeLessThanOrEqual(6);
  });
});
