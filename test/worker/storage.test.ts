// Privacy of the room's storage: while a call runs the object keeps only a counter (member data
// lives in the sockets' attachments), and when the last member goes it forgets everything.
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TestClient } from "./client";
import { randomId } from "../support/ids";

function stubFor(roomId: string) {
  return env.ROOMS.get(env.ROOMS.idFromName(roomId));
}

/** Everything the object has stored: its key-value entries, its SQL tables and its alarm. */
function storedState(roomId: string) {
  return runInDurableObject(stubFor(roomId), async (_instance, state) => ({
    entries: [...state.storage.kv.list()],
    tables: state.storage.sql
      .exec(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
      )
      .toArray(),
    alarm: await state.storage.getAlarm(),
  }));
}

/** The object handles a close asynchronously; poll (bounded) until storage matches. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 50 && !ok(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

const isEmpty = (s: Awaited<ReturnType<typeof storedState>>) =>
  s.entries.length === 0 && s.tables.length === 0 && s.alarm === null;

describe("room storage", () => {
  it("keeps only the seq counter during a call, and nothing naming a participant", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    await TestClient.join(roomId);
    await a.next("member-joined");
    const state = await storedState(roomId);
    expect(state.entries).toEqual([["nextSeq", 3]]);
    expect(state.tables).toEqual([]);
    expect(JSON.stringify(state)).not.toContain(a.participantId);
    expect(state.alarm).not.toBeNull();
    const ids = await listDurableObjectIds(env.ROOMS);
    expect(ids.some((id) => id.equals(env.ROOMS.idFromName(roomId)))).toBe(true);
  });

  it("is empty after the last member leaves with `leave`", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    const { client: b } = await TestClient.join(roomId);
    await a.next("member-joined");
    a.send({ type: "leave" });
    await b.next("member-left");
    expect(isEmpty(await storedState(roomId))).toBe(false);
    b.send({ type: "leave" });
    await b.closed();
    expect(await eventually(() => storedState(roomId), isEmpty)).toEqual({
      entries: [],
      tables: [],
      alarm: null,
    });
  });

  it("is empty after the last member just closes its socket, and a new life starts at seq 1", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    const { client: b } = await TestClient.join(roomId);
    await a.next("member-joined");
    a.close();
    await b.next("member-left");
    b.close(4000, "gone");
    expect(isEmpty(await eventually(() => storedState(roomId), isEmpty))).toBe(true);
    const { welcome } = await TestClient.join(roomId);
    expect(welcome.self.seq).toBe(1);
    expect(welcome.members).toEqual([]);
  });
});
