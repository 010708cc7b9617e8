// Ordering and exactly-once delivery under load: 1,000 unicast payloads from each of two senders at
// once, relayed by the Room while both bursts interleave.
import { expect, it } from "vitest";
import { TestClient } from "./client";
import { randomId } from "../support/ids";

/** base64url of a sequence number, so every payload is distinct and its position is readable. */
function numbered(sender: number, index: number): string {
  return btoa(`${sender}:${String(index).padStart(6, "0")}`)
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

// Why single frames here: vitest-pool-workers 0.15.1 wraps the Durable Object and, before each
// webSocketMessage, awaits a module import through its runner object, so frames sent back to back can
// reach the object out of order in this harness (never in workerd itself). Bursts of many separate
// frames are therefore checked against the real runtime, through `wrangler dev`, in test/protocol.
it("delivers two concurrent bursts of 1,000 unicast payloads once and in order", async () => {
  const roomId = randomId();
  const { client: receiver } = await TestClient.join(roomId);
  const { client: s1 } = await TestClient.join(roomId);
  const { client: s2 } = await TestClient.join(roomId);
  await receiver.next("member-joined");
  await receiver.next("member-joined");
  await s1.next("member-joined");

  const to = receiver.participantId;
  const burst = (sender: number) =>
    Array.from({ length: 1000 }, (_, i) => ({ to, payload: numbered(sender, i) }));
  s1.send({ type: "send", messages: burst(1) });
  s2.send({ type: "send", messages: burst(2) });

  const received = new Map<string, string[]>([
    [s1.participantId, []],
    [s2.participantId, []],
  ]);
  for (let n = 0; n < 2000; n++) {
    const message = await receiver.next("message");
    received.get(message.from)?.push(message.payload);
  }
  expect(received.get(s1.participantId)).toEqual(burst(1).map((item) => item.payload));
  expect(received.get(s2.participantId)).toEqual(burst(2).map((item) => item.payload));

  // Nothing extra (no duplicate) follows, and the senders got no errors.
  s1.send({ type: "broadcast", payload: "ZW5k" });
  expect(await receiver.next()).toEqual({
    type: "broadcast",
    from: s1.participantId,
    payload: "ZW5k",
  });
  expect(await s2.next()).toEqual({ type: "broadcast", from: s1.participantId, payload: "ZW5k" });
  expect(s1.pending()).toBe(0);
});
