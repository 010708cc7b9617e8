// Unit tests of parseClientFrame: every refusal of docs/protocol.md that depends on the frame
// alone.
import { describe, expect, it } from "vitest";
import { parseClientFrame } from "../../worker/src/frame";
import { LIMITS } from "../../protocol/signalling";
import { opaque, randomId } from "../support/ids";

const join = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: "join",
    v: 1,
    participantId: randomId(),
    announcement: opaque(16),
    ...extra,
  });

function refusal(data: string | ArrayBuffer) {
  const result = parseClientFrame(data);
  if (result.ok) throw new Error("expected a refusal");
  return result.refusal;
}

describe("parseClientFrame", () => {
  it("accepts every client message type", () => {
    const to = randomId();
    for (const frame of [
      join(),
      JSON.stringify({ type: "send", messages: [{ to, payload: opaque(3) }] }),
      JSON.stringify({ type: "broadcast", payload: opaque(3) }),
      JSON.stringify({ type: "token" }),
      JSON.stringify({ type: "leave" }),
    ]) {
      const result = parseClientFrame(frame);
      expect(result.ok, frame).toBe(true);
    }
  });

  it("ignores unknown extra fields (additions old servers can ignore)", () => {
    expect(parseClientFrame(JSON.stringify({ type: "token", hint: 1 })).ok).toBe(true);
  });

  it("refuses binary frames, non-JSON and non-objects as bad_message", () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ type: "token" }));
    const binary = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(binary).set(bytes);
    expect(refusal(binary).code).toBe("bad_message");
    for (const frame of ["", "{", "null", "[]", "42", '"join"', "true"])
      expect(refusal(frame).code, frame).toBe("bad_message");
  });

  it("refuses unknown types and malformed fields as bad_message", () => {
    const bad = [
      { type: "hello" },
      { type: 7 },
      {},
      { type: "join", v: 1, participantId: "short", announcement: opaque(4) },
      { type: "join", v: "1", participantId: randomId(), announcement: opaque(4) },
      { type: "join", participantId: randomId(), announcement: opaque(4) },
      { type: "join", v: 1, participantId: randomId(), announcement: "" },
      { type: "join", v: 1, participantId: randomId(), announcement: "not base64url!" },
      { type: "join", v: 1, participantId: randomId(), announcement: "AAAA=" },
      { type: "send", messages: [] },
      { type: "send", messages: {} },
      { type: "send", messages: [{ to: randomId() }] },
      { type: "send", messages: [{ to: 5, payload: opaque(3) }] },
      { type: "broadcast", payload: 12 },
      { type: "broadcast", payload: ["a"] },
    ];
    for (const message of bad) expect(refusal(JSON.stringify(message)).code).toBe("bad_message");
  });

  it("refuses a join of another version as unsupported_version, before looking at its shape", () => {
    expect(refusal(join({ v: 2 })).code).toBe("unsupported_version");
    expect(refusal(JSON.stringify({ type: "join", v: 0 })).code).toBe("unsupported_version");
  });

  it("enforces the size limits with payload_too_large, and accepts exactly the limits", () => {
    expect(parseClientFrame(join({ announcement: opaque(LIMITS.announcementBytes) })).ok).toBe(
      true,
    );
    expect(refusal(join({ announcement: opaque(LIMITS.announcementBytes + 1) })).code).toBe(
      "payload_too_large",
    );
    const max = opaque(LIMITS.payloadBytes);
    const over = opaque(LIMITS.payloadBytes + 1);
    expect(parseClientFrame(JSON.stringify({ type: "broadcast", payload: max })).ok).toBe(true);
    expect(refusal(JSON.stringify({ type: "broadcast", payload: over })).code).toBe(
      "payload_too_large",
    );
    const to = randomId();
    expect(
      refusal(
        JSON.stringify({
          type: "send",
          messages: [
            { to, payload: "AA" },
            { to, payload: over },
          ],
        }),
      ).code,
    ).toBe("payload_too_large");
    const items = (n: number) => Array.from({ length: n }, () => ({ to, payload: "AA" }));
    expect(
      parseClientFrame(JSON.stringify({ type: "send", messages: items(LIMITS.sendItems) })).ok,
    ).toBe(true);
    expect(
      refusal(JSON.stringify({ type: "send", messages: items(LIMITS.sendItems + 1) })).code,
    ).toBe("payload_too_large");
  });

  it("refuses frames over the frame limit before parsing them", () => {
    const padding = "a".repeat(LIMITS.frameBytes);
    expect(refusal(JSON.stringify({ type: "token", padding })).code).toBe("payload_too_large");
    // Multi-byte characters count in UTF-8 bytes, not UTF-16 units.
    const wide = "é".repeat(Math.ceil(LIMITS.frameBytes / 2));
    expect(wide.length).toBeLessThan(LIMITS.frameBytes);
    expect(refusal(JSON.stringify({ type: "token", wide })).code).toBe("payload_too_large");
  });

  it("survives deeply nested JSON", () => {
    const depth = 100_000;
    const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    expect(refusal(nested).code).toBe("bad_message");
    const inField = `{"type":"broadcast","payload":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    expect(refusal(inField).code).toBe("bad_message");
  });

  it("never echoes client bytes in its messages", () => {
    const secret = "S3CRETS3CRETS3CRETS3CR";
    for (const frame of [
      `{"type":"join","v":1,"participantId":"${secret}!","announcement":"x"}`,
      `{"type":"${secret}"}`,
      `{"type":"broadcast","payload":"${secret}=="}`,
      `not json ${secret}`,
    ])
      expect(refusal(frame).message).not.toContain(secret);
  });
});
