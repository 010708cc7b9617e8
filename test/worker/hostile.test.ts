// Hostile input against the real Room: binary frames, deep nesting, huge strings, wrong types and
// floods each get their error code; the socket stays usable where docs/protocol.md says so, and the
// other members see nothing but what the protocol tells them.
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, LIMITS } from "../../protocol/signalling";
import { roomOfThree, type TestClient } from "./client";
import { randomId } from "../support/ids";

/** The attacker's next frame is a valid broadcast: the others must see exactly that, nothing before. */
async function othersSawNothing(attacker: TestClient, others: TestClient[]): Promise<void> {
  attacker.send({ type: "broadcast", payload: "cHJvYmU" });
  for (const other of others)
    expect(await other.next()).toEqual({
      type: "broadcast",
      from: attacker.participantId,
      payload: "cHJvYmU",
    });
}

describe("hostile input", () => {
  it("binary frames: bad_message, socket usable", async () => {
    const { a, b, c } = await roomOfThree();
    a.sendRaw(new Uint8Array([0x7b, 0x7d]));
    await a.nextError("bad_message");
    a.sendRaw(new TextEncoder().encode(JSON.stringify({ type: "broadcast", payload: "AA" })));
    await a.nextError("bad_message");
    await othersSawNothing(a, [b, c]);
  });

  it("deeply nested JSON: bad_message, socket usable", async () => {
    const { a, b, c } = await roomOfThree();
    const depth = 200_000;
    a.sendRaw(`${"[".repeat(depth)}${"]".repeat(depth)}`);
    await a.nextError("bad_message");
    a.sendRaw(`{"type":"send","messages":[${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}]}`);
    await a.nextError("bad_message");
    a.sendRaw(`{"type":"broadcast","payload":"AA","x":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    // Nesting is bounded before parsing (issue 10), in unknown fields too.
    await a.nextError("bad_message");
    // Unknown fields within the bounds are ignored (protocol additions): the broadcast goes through.
    a.sendRaw(`{"type":"broadcast","payload":"AA","x":{"y":[[[1,2],{"z":null}]]}}`);
    expect(await b.next()).toEqual({ type: "broadcast", from: a.participantId, payload: "AA" });
    expect(await c.next()).toEqual({ type: "broadcast", from: a.participantId, payload: "AA" });
    await othersSawNothing(a, [b, c]);
  });

  it("huge strings and frames: payload_too_large, socket usable", async () => {
    const { a, b, c } = await roomOfThree();
    const big = "A".repeat(900 * 1024);
    a.send({ type: "broadcast", payload: big });
    await a.nextError("payload_too_large");
    a.send({ type: "send", messages: [{ to: b.participantId, payload: big }] });
    await a.nextError("payload_too_large");
    a.sendRaw("x".repeat(LIMITS.frameBytes + 1));
    await a.nextError("payload_too_large");
    a.sendRaw(JSON.stringify({ type: "token", junk: "é".repeat(3 * 1024 * 1024) }));
    await a.nextError("payload_too_large");
    const items = Array.from({ length: LIMITS.sendItems + 1 }, () => ({
      to: b.participantId,
      payload: "AA",
    }));
    a.send({ type: "send", messages: items });
    await a.nextError("payload_too_large");
    await othersSawNothing(a, [b, c]);
  });

  it("wrong types: bad_message, socket usable", async () => {
    const { a, b, c } = await roomOfThree();
    const frames: unknown[] = [
      null,
      42,
      "join",
      [],
      { type: null },
      { type: ["broadcast"] },
      { type: "broadcast", payload: { $gt: "" } },
      { type: "broadcast", payload: 1e308 },
      { type: "send", messages: "everyone" },
      { type: "send", messages: [null] },
      { type: "send", messages: [{ to: ["x"], payload: "AA" }] },
      { type: "send", messages: [{ to: b.participantId, payload: true }] },
      { type: "join", v: 1, participantId: { toString: 1 }, announcement: "AA" },
      { __proto__: { type: "token" } },
      { constructor: { prototype: { type: "leave" } } },
    ];
    for (const frame of frames) {
      a.send(JSON.stringify(frame));
      await a.nextError("bad_message");
    }
    await othersSawNothing(a, [b, c]);
  });

  it("a flood: rate_limited while it lasts, then 4408; the others only see the member leave", async () => {
    const { a, b, c } = await roomOfThree();
    // The tests' bucket holds 1,200 frames and refills at one per second; 20 refusals close.
    let sent = 0;
    for (; sent < 1230; sent++)
      a.send({ type: "send", messages: [{ to: randomId(), payload: "AA" }] });
    const seen = new Map<string, number>();
    for (;;) {
      const message = await a.next("error").catch(() => null);
      if (message === null) break;
      seen.set(message.code, (seen.get(message.code) ?? 0) + 1);
    }
    // Whatever the machine's speed, far more than the refill got through first.
    expect(seen.get("unknown_recipient")).toBeGreaterThan(1100);
    expect(seen.get("rate_limited")).toBeGreaterThanOrEqual(1);
    // Keep flooding (bounded) until the persistent-abuse close.
    for (; !a.isClosed && sent < 5000; sent++) a.send({ type: "token" });
    expect((await a.closed()).code).toBe(CLOSE_CODES.persistent_abuse);
    for (const other of [b, c])
      expect(await other.next()).toEqual({
        type: "member-left",
        participantId: a.participantId,
        seq: 1,
      });
    await othersSawNothing(b, [c]);
  });

  it("a brief overshoot: rate_limited, then the socket works again once the bucket refills", async () => {
    const { a, b, c } = await roomOfThree();
    // 14 frames over the bucket: a few refusals however slow the machine, never 20 (the close).
    for (let i = 0; i < 1214; i++) a.send("x");
    const seen = new Map<string, number>();
    for (let i = 0; i < 1214; i++) {
      const message = await a.next("error");
      seen.set(message.code, (seen.get(message.code) ?? 0) + 1);
    }
    expect(seen.get("rate_limited")).toBeGreaterThanOrEqual(1);
    expect(a.isClosed).toBe(false);
    // One token per second: after a short pause the next frame is accepted.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await othersSawNothing(a, [b, c]);
  });
});
