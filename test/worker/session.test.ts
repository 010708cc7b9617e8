// The session of docs/protocol.md end to end inside workerd: real WebSockets through the Worker's
// fetch into the Room Durable Object, several clients per room, every message type, error and close
// code. Each test uses its own room id, so tests never share an object.
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, LIMITS } from "../../protocol/signalling";
import { roomOfThree, TestClient } from "./client";
import { opaque, randomId } from "../support/ids";

/** Proves a client got nothing unexpected: the next thing it sees is this broadcast from `from`. */
async function expectOnlyProbe(from: TestClient, to: TestClient[]): Promise<void> {
  const payload = opaque(5, 0x7e);
  from.send({ type: "broadcast", payload });
  for (const client of to)
    expect(await client.next()).toEqual({
      type: "broadcast",
      from: from.participantId,
      payload,
    });
}

describe("join, welcome and membership", () => {
  it("welcomes each joiner with the members already present and tells them in seq order", async () => {
    const roomId = randomId();
    const announcements = [opaque(16, 1), opaque(16, 2), opaque(LIMITS.announcementBytes, 3)];
    const { client: a, welcome: wa } = await TestClient.join(roomId, announcements[0]);
    expect(wa).toMatchObject({
      type: "welcome",
      v: 1,
      self: { participantId: a.participantId, seq: 1 },
      members: [],
      livekit: { url: "ws://127.0.0.1:7880" },
    });
    const { client: b, welcome: wb } = await TestClient.join(roomId, announcements[1]);
    expect(wb.self).toEqual({ participantId: b.participantId, seq: 2 });
    expect(wb.members).toEqual([
      { participantId: a.participantId, seq: 1, announcement: announcements[0] },
    ]);
    const { client: c, welcome: wc } = await TestClient.join(roomId, announcements[2]);
    expect(wc.self.seq).toBe(3);
    expect(wc.members).toEqual([
      { participantId: a.participantId, seq: 1, announcement: announcements[0] },
      { participantId: b.participantId, seq: 2, announcement: announcements[1] },
    ]);
    expect(await a.next("member-joined")).toEqual({
      type: "member-joined",
      member: { participantId: b.participantId, seq: 2, announcement: announcements[1] },
    });
    expect((await a.next("member-joined")).member.seq).toBe(3);
    expect((await b.next("member-joined")).member).toEqual({
      participantId: c.participantId,
      seq: 3,
      announcement: announcements[2],
    });
    await expectOnlyProbe(c, [a, b]);
  });

  it("announces leaves (explicit and by closing) to everyone, in the room's order", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    const { client: b } = await TestClient.join(roomId);
    const { client: c } = await TestClient.join(roomId);
    const { client: d } = await TestClient.join(roomId);
    await a.next("member-joined");
    await a.next("member-joined");
    await a.next("member-joined");
    await b.next("member-joined");
    await b.next("member-joined");
    await c.next("member-joined");

    b.send({ type: "leave" });
    expect(await b.closed()).toMatchObject({ code: 1000 });
    c.close(1000, "bye");
    for (const watcher of [a, d]) {
      expect(await watcher.next("member-left")).toEqual({
        type: "member-left",
        participantId: b.participantId,
        seq: 2,
      });
      expect(await watcher.next("member-left")).toEqual({
        type: "member-left",
        participantId: c.participantId,
        seq: 3,
      });
    }
    // The seq counter moves on: the next joiner gets 5, not a reused 2 or 3.
    const { client: e, welcome } = await TestClient.join(roomId);
    expect(welcome.self.seq).toBe(5);
    expect(welcome.members.map((m) => m.seq)).toEqual([1, 4]);
    expect((await a.next("member-joined")).member.participantId).toBe(e.participantId);
    expect((await d.next("member-joined")).member.seq).toBe(5);
  });
});

describe("relay", () => {
  it("delivers unicast only to the named recipients, with the sender's id", async () => {
    const { a, b, c } = await roomOfThree();

    a.send({
      type: "send",
      messages: [
        { to: b.participantId, payload: "Ynl0ZXMtZm9yLWI" },
        { to: c.participantId, payload: "Ynl0ZXMtZm9yLWM" },
        { to: b.participantId, payload: "c2Vjb25kLWZvci1i" },
      ],
    });
    expect(await b.next()).toEqual({
      type: "message",
      from: a.participantId,
      payload: "Ynl0ZXMtZm9yLWI",
    });
    expect(await b.next()).toEqual({
      type: "message",
      from: a.participantId,
      payload: "c2Vjb25kLWZvci1i",
    });
    expect(await c.next()).toEqual({
      type: "message",
      from: a.participantId,
      payload: "Ynl0ZXMtZm9yLWM",
    });
    // The sender hears nothing back for a clean send.
    await expectOnlyProbe(b, [a, c]);
  });

  it("refuses unknown recipients with unknown_recipient but delivers the other items", async () => {
    const { a, b, c } = await roomOfThree();
    const nobody = randomId();
    a.send({
      type: "send",
      messages: [
        { to: nobody, payload: "AA" },
        { to: c.participantId, payload: "AQ" },
      ],
    });
    expect(await a.nextError("unknown_recipient")).toContain(nobody);
    expect(await c.next()).toEqual({ type: "message", from: a.participantId, payload: "AQ" });
    // The socket stays usable and b saw nothing.
    await expectOnlyProbe(a, [b, c]);
  });

  it("broadcasts to every other member and not to the sender", async () => {
    const { a, b, c } = await roomOfThree();
    const payload = opaque(LIMITS.payloadBytes);
    b.send({ type: "broadcast", payload });
    expect(await a.next()).toEqual({ type: "broadcast", from: b.participantId, payload });
    expect(await c.next()).toEqual({ type: "broadcast", from: b.participantId, payload });
    await expectOnlyProbe(c, [a, b]);
  });

  it("answers token with a fresh grant for the same room and identity", async () => {
    const roomId = randomId();
    const { client: a, welcome } = await TestClient.join(roomId);
    a.send({ type: "token" });
    const answer = await a.next("token");
    expect(answer.livekit.url).toBe(welcome.livekit.url);
    expect(answer.livekit.token.split(".")).toHaveLength(3);
  });
});

describe("errors that leave the socket open", () => {
  it("not_joined before join, then the join still works", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    const p = await TestClient.connect(roomId);
    for (const frame of [
      { type: "token" },
      { type: "broadcast", payload: "AA" },
      { type: "send", messages: [{ to: a.participantId, payload: "AA" }] },
      { type: "leave" },
    ]) {
      p.send(frame);
      await p.nextError("not_joined");
    }
    p.send({ type: "join", v: 1, participantId: p.participantId, announcement: "AA" });
    expect((await p.next("welcome")).self.seq).toBe(2);
    expect((await a.next("member-joined")).member.participantId).toBe(p.participantId);
  });

  it("already_joined on a second join, with nothing told to the others", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    const { client: b } = await TestClient.join(roomId);
    await a.next("member-joined");
    b.send({ type: "join", v: 1, participantId: randomId(), announcement: "AA" });
    await b.nextError("already_joined");
    b.send({ type: "join", v: 1, participantId: b.participantId, announcement: "AA" });
    await b.nextError("already_joined");
    await expectOnlyProbe(b, [a]);
  });

  it("bad_message and payload_too_large keep the socket, before and after join", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    const { client: b } = await TestClient.join(roomId);
    await a.next("member-joined");
    b.send("not json");
    await b.nextError("bad_message");
    b.send({ type: "wave" });
    await b.nextError("bad_message");
    b.send({ type: "broadcast", payload: opaque(LIMITS.payloadBytes + 1) });
    await b.nextError("payload_too_large");
    b.send({
      type: "send",
      messages: [{ to: a.participantId, payload: opaque(LIMITS.payloadBytes + 1) }],
    });
    await b.nextError("payload_too_large");
    await expectOnlyProbe(b, [a]);

    const p = await TestClient.connect(roomId);
    p.send({
      type: "join",
      v: 1,
      participantId: p.participantId,
      announcement: opaque(LIMITS.announcementBytes + 1),
    });
    await p.nextError("payload_too_large");
    p.send({ type: "join", v: 1, participantId: p.participantId, announcement: opaque(8) });
    expect((await p.next("welcome")).self.seq).toBe(3);
  });
});

describe("errors that close the socket", () => {
  it("unsupported_version closes with 4400 and admits nobody", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    const p = await TestClient.connect(roomId);
    p.send({ type: "join", v: 2, participantId: p.participantId, announcement: "AA" });
    await p.nextError("unsupported_version");
    expect((await p.closed()).code).toBe(CLOSE_CODES.unsupported_version);
    const { client: b } = await TestClient.join(roomId);
    expect((await a.next("member-joined")).member.participantId).toBe(b.participantId);
  });

  it("duplicate_participant closes the newcomer with 4409; the original stays", async () => {
    const roomId = randomId();
    const { client: a } = await TestClient.join(roomId);
    const { client: b } = await TestClient.join(roomId);
    await a.next("member-joined");
    const dup = await TestClient.connect(roomId);
    dup.send({ type: "join", v: 1, participantId: a.participantId, announcement: "AA" });
    await dup.nextError("duplicate_participant");
    expect((await dup.closed()).code).toBe(CLOSE_CODES.duplicate_participant);
    await expectOnlyProbe(a, [b]);
  });

  it("room_full closes with 4429 at the configured capacity (4 in the tests)", async () => {
    const roomId = randomId();
    const members = [];
    for (let i = 0; i < 4; i++) members.push((await TestClient.join(roomId)).client);
    const late = await TestClient.connect(roomId);
    late.send({ type: "join", v: 1, participantId: late.participantId, announcement: "AA" });
    await late.nextError("room_full");
    expect((await late.closed()).code).toBe(CLOSE_CODES.room_full);
    // Once someone leaves there is room again.
    for (const [index, member] of members.entries())
      for (let joined = index + 1; joined < members.length; joined++)
        await member.next("member-joined");
    const [first, ...rest] = members;
    first?.send({ type: "leave" });
    for (const member of rest) expect(await member.next("member-left")).toMatchObject({ seq: 1 });
    const { welcome } = await TestClient.join(roomId);
    expect(welcome.self.seq).toBe(5);
  });
});
