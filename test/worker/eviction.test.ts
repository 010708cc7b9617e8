// Hibernation and restarts in the middle of a call. vitest-pool-workers 0.15.1 has no
// evictDurableObject(), so eviction is the runtime's own: workerd evicts an idle object whose
// sockets are all hibernatable after about ten seconds. A marker left on the old instance proves a
// new instance took over; the call then goes on (relays, joins, leaves) with correct seq numbers.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES } from "../../protocol/signalling";
import { roomOfThree, TestClient } from "./client";
import { opaque, randomId } from "../support/ids";

function stubFor(roomId: string) {
  return env.ROOMS.get(env.ROOMS.idFromName(roomId));
}

const IDLE_MS = 11_000;
const MARK = Symbol.for("hush.test.evictionMarker");

async function mark(roomId: string): Promise<void> {
  await runInDurableObject(stubFor(roomId), (instance) => {
    Reflect.set(instance, MARK, true);
  });
}

/** Waits, idle, until the runtime has evicted the object (its in-memory marker is gone). */
async function waitForEviction(roomId: string): Promise<void> {
  for (let attempt = 0; attempt < 4; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const marked = await runInDurableObject(stubFor(roomId), (instance) =>
      Reflect.get(instance, MARK),
    );
    if (marked !== true) return;
  }
  throw new Error("the Room was never evicted");
}

describe("eviction with hibernating sockets", () => {
  it("continues the call after eviction: relays, joins and leaves with correct seq", async () => {
    const { roomId, a, b, c } = await roomOfThree();
    b.send({ type: "leave" });
    expect(await a.next("member-left")).toMatchObject({ participantId: b.participantId, seq: 2 });
    expect(await c.next("member-left")).toMatchObject({ participantId: b.participantId, seq: 2 });

    await mark(roomId);
    await waitForEviction(roomId);

    // Relay across the eviction, both ways.
    a.send({ type: "send", messages: [{ to: c.participantId, payload: "YWZ0ZXI" }] });
    expect(await c.next()).toEqual({ type: "message", from: a.participantId, payload: "YWZ0ZXI" });
    c.send({ type: "broadcast", payload: opaque(9) });
    expect(await a.next()).toEqual({
      type: "broadcast",
      from: c.participantId,
      payload: opaque(9),
    });

    // The seq counter survived: the next member is 4, not a reused 2 or 3.
    const { client: d, welcome } = await TestClient.join(roomId);
    expect(welcome.self.seq).toBe(4);
    expect(welcome.members.map((m) => [m.participantId, m.seq])).toEqual([
      [a.participantId, 1],
      [c.participantId, 3],
    ]);
    expect((await a.next("member-joined")).member.seq).toBe(4);
    expect((await c.next("member-joined")).member.seq).toBe(4);

    // A second eviction, then a leave by closing, then another join.
    await mark(roomId);
    await waitForEviction(roomId);
    c.close();
    expect(await a.next("member-left")).toEqual({
      type: "member-left",
      participantId: c.participantId,
      seq: 3,
    });
    expect(await d.next("member-left")).toMatchObject({ seq: 3 });
    const { welcome: late } = await TestClient.join(roomId);
    expect(late.self.seq).toBe(5);
    // A duplicate of a member admitted before the eviction is still refused.
    const dup = await TestClient.connect(roomId);
    dup.send({ type: "join", v: 1, participantId: a.participantId, announcement: "AA" });
    await dup.nextError("duplicate_participant");
  }, 90_000);

  it("keeps each socket's rate-limit state across eviction", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    // Spend most of the bucket (1,200 in the tests) with frames that cost a token each.
    for (let i = 0; i < 1190; i++) a.send("x");
    for (let i = 0; i < 1190; i++) await a.nextError("bad_message");
    await mark(roomId);
    await waitForEviction(roomId);
    // A fresh bucket would take 1,200 more frames; the stored one has only the ~10 left (plus one
    // per second since), so 150 more frames run into the limit and the strikes close the socket.
    for (let i = 0; i < 150; i++) a.send("x");
    const codes = new Map<string, number>();
    for (;;) {
      const message = await a.next("error").catch(() => null);
      if (message === null) break;
      codes.set(message.code, (codes.get(message.code) ?? 0) + 1);
    }
    expect(codes.get("rate_limited")).toBeGreaterThanOrEqual(20);
    expect((await a.closed()).code).toBe(CLOSE_CODES.persistent_abuse);
  }, 90_000);
});

describe("restart (sockets dropped without close events)", () => {
  it("forgets the orphaned room on its next sweep alarm", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    await TestClient.join(roomId);
    await a.next("member-joined");
    const stub = stubFor(roomId);
    // A reset drops every socket; no webSocketClose reaches the new instance.
    await runInDurableObject(stub, (_instance, state) => state.abort("simulated restart")).catch(
      () => undefined,
    );
    await a.closed();
    expect(await runDurableObjectAlarm(stubFor(roomId))).toBe(true);
    const stored = await runInDurableObject(stubFor(roomId), async (_instance, state) => ({
      entries: [...state.storage.kv.list()],
      alarm: await state.storage.getAlarm(),
    }));
    expect(stored).toEqual({ entries: [], alarm: null });
    const { welcome } = await TestClient.join(roomId);
    expect(welcome).toMatchObject({ self: { seq: 1 }, members: [] });
  });
});
