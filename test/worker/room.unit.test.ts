// Unit tests of the pure room rules, driven through RoomDriver (the Durable Object shell in memory).
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, LIMITS } from "../../protocol/signalling";
import { FIRST_SEQ, LEAVE_CLOSE_CODE } from "../../worker/src/room";
import { opaque, randomId } from "../support/ids";
import { RoomDriver, testRoomConfig } from "./room-driver";

const config = testRoomConfig({ capacity: 3, burst: 50 });

describe("room rules", () => {
  it("admits members with strictly increasing seq and tells everyone in order", () => {
    const room = new RoomDriver(config);
    const a = room.join("a");
    const b = room.join("b");
    const c = room.join("c");
    const [welcomeC] = room.take("c");
    expect(welcomeC).toMatchObject({ type: "welcome", self: { participantId: c, seq: 3 } });
    if (welcomeC?.type !== "welcome") throw new Error("no welcome");
    expect(welcomeC.members.map((m) => [m.participantId, m.seq])).toEqual([
      [a, 1],
      [b, 2],
    ]);
    expect(room.take("a").map((m) => m.type)).toEqual([
      "welcome",
      "member-joined",
      "member-joined",
    ]);
    expect(room.take("b").map((m) => m.type)).toEqual(["welcome", "member-joined"]);
  });

  it("never reuses a seq within a room's life, even after the highest member leaves", () => {
    const room = new RoomDriver(config);
    room.join("a");
    room.join("b");
    room.disconnect("b");
    room.join("c");
    const welcome = room.take("c")[0];
    expect(welcome).toMatchObject({ type: "welcome", self: { seq: 3 } });
  });

  it("refuses a duplicate participant with 4409 and a full room with 4429, telling nobody", () => {
    const room = new RoomDriver(config);
    const a = room.join("a");
    room.join("b");
    room.take("a");
    room.join("dup", a);
    expect(room.take("dup")).toMatchObject([{ type: "error", code: "duplicate_participant" }]);
    expect(room.closes.get("dup")).toBe(CLOSE_CODES.duplicate_participant);
    room.join("c");
    room.join("d");
    expect(room.take("d")).toMatchObject([{ type: "error", code: "room_full" }]);
    expect(room.closes.get("d")).toBe(CLOSE_CODES.room_full);
    expect(room.take("a").map((m) => m.type)).toEqual(["member-joined"]);
  });

  it("relays unicast in order, reports unknown recipients and still delivers the rest", () => {
    const room = new RoomDriver(config);
    const a = room.join("a");
    const b = room.join("b");
    room.take("a");
    room.take("b");
    const stranger = randomId();
    room.frame("a", {
      type: "send",
      messages: [
        { to: b, payload: "AQ" },
        { to: stranger, payload: "Ag" },
        { to: b, payload: "Aw" },
      ],
    });
    expect(room.take("b")).toEqual([
      { type: "message", from: a, payload: "AQ" },
      { type: "message", from: a, payload: "Aw" },
    ]);
    const [error] = room.take("a");
    expect(error).toMatchObject({ type: "error", code: "unknown_recipient" });
    expect(error?.type === "error" && error.message).toContain(stranger);
  });

  it("broadcasts to every other member, answers token, and leave closes with 1000", () => {
    const room = new RoomDriver(config);
    const a = room.join("a");
    room.join("b");
    room.join("c");
    for (const name of ["a", "b", "c"]) room.take(name);
    room.frame("a", { type: "broadcast", payload: "AAAA" });
    expect(room.take("a")).toEqual([]);
    expect(room.take("b")).toEqual([{ type: "broadcast", from: a, payload: "AAAA" }]);
    expect(room.take("c")).toEqual([{ type: "broadcast", from: a, payload: "AAAA" }]);
    room.frame("b", { type: "token" });
    expect(room.take("b")).toMatchObject([{ type: "token" }]);
    room.frame("a", { type: "leave" });
    expect(room.closes.get("a")).toBe(LEAVE_CLOSE_CODE);
    expect(room.take("b")).toEqual([{ type: "member-left", participantId: a, seq: 1 }]);
    expect(room.take("c")).toEqual([{ type: "member-left", participantId: a, seq: 1 }]);
    // A closing socket's further frames are ignored.
    expect(room.frame("a", { type: "broadcast", payload: "AAAA" }).deliveries).toEqual([]);
  });

  it("answers not_joined, already_joined and unsupported_version as docs/protocol.md says", () => {
    const room = new RoomDriver(config);
    room.connect("p");
    room.frame("p", { type: "token" });
    expect(room.take("p")).toMatchObject([{ type: "error", code: "not_joined" }]);
    expect(room.closes.has("p")).toBe(false);
    room.frame("p", { type: "join", v: 2, participantId: randomId(), announcement: "AA" });
    expect(room.take("p")).toMatchObject([{ type: "error", code: "unsupported_version" }]);
    expect(room.closes.get("p")).toBe(CLOSE_CODES.unsupported_version);
    const a = room.join("a");
    room.take("a");
    room.frame("a", { type: "join", v: 1, participantId: a, announcement: "AA" });
    room.frame("a", { type: "join", v: 2, participantId: a, announcement: "AA" });
    expect(room.take("a")).toMatchObject([
      { type: "error", code: "already_joined" },
      { type: "error", code: "already_joined" },
    ]);
    expect(room.closes.has("a")).toBe(false);
  });

  it("keeps a bad frame from a member away from the others", () => {
    const room = new RoomDriver(config);
    room.join("a");
    room.join("b");
    room.take("a");
    room.take("b");
    room.frame("a", "{nope");
    room.frame("a", new ArrayBuffer(4));
    room.frame("a", { type: "broadcast", payload: opaque(LIMITS.payloadBytes + 1) });
    expect(room.take("a")).toMatchObject([
      { code: "bad_message" },
      { code: "bad_message" },
      { code: "payload_too_large" },
    ]);
    expect(room.take("b")).toEqual([]);
  });

  it("rate limits per socket and closes persistent abuse with 4408, telling the others", () => {
    const room = new RoomDriver(config);
    const a = room.join("a");
    room.join("b");
    room.take("a");
    room.take("b");
    // 50 tokens, one spent on join: 49 frames pass, then five refusals, the fifth closes.
    for (let i = 0; i < 49; i++) room.frame("a", { type: "token" });
    expect(room.take("a").every((m) => m.type === "token")).toBe(true);
    for (let i = 0; i < 4; i++) room.frame("a", { type: "token" });
    expect(room.take("a")).toMatchObject(Array(4).fill({ type: "error", code: "rate_limited" }));
    expect(room.closes.has("a")).toBe(false);
    room.frame("a", { type: "token" });
    expect(room.take("a")).toMatchObject([{ type: "error", code: "rate_limited" }]);
    expect(room.closes.get("a")).toBe(CLOSE_CODES.persistent_abuse);
    expect(room.take("b")).toEqual([{ type: "member-left", participantId: a, seq: 1 }]);
  });

  it("forgets the room when its last member goes, and a later join starts a new life", () => {
    const room = new RoomDriver(config);
    room.join("a");
    room.join("b");
    room.frame("a", { type: "leave" });
    expect(room.forgotten).toBe(0);
    room.disconnect("b");
    expect(room.forgotten).toBe(1);
    expect(room.nextSeq).toBeUndefined();
    room.join("c");
    expect(room.take("c")[0]).toMatchObject({
      type: "welcome",
      self: { seq: FIRST_SEQ },
      members: [],
    });
  });

  it("does not forget anything when a socket that never joined goes", () => {
    const room = new RoomDriver(config);
    room.join("a");
    room.connect("p");
    const outcome = room.disconnect("p");
    expect(outcome).toMatchObject({ forget: false, deliveries: [] });
  });
});
