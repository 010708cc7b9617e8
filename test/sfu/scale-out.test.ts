// LiveKit's distributed mode on loopback: two livekit-server nodes share one Redis, and two
// participants in the same room, each connected to a different node, receive each other's audio and
// video. This is the property the multi-node deployment in infra/ relies on.
import { dispose } from "@livekit/rtc-node";
import { AccessToken, RoomServiceClient } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningLiveKit, randomKeys, startLiveKit } from "../support/livekit";
import { waitUntil } from "../support/ports";
import { type RunningRedis, startRedis } from "../support/redis";
import { joinWithSyntheticMedia, type SyntheticParticipant } from "./synthetic-media";

const keys = randomKeys();
let redis: RunningRedis | undefined;
const nodes: RunningLiveKit[] = [];
const participants: SyntheticParticipant[] = [];

async function tokenFor(room: string, identity: string): Promise<string> {
  const token = new AccessToken(keys.apiKey, keys.apiSecret, { identity, ttl: "5m" });
  token.addGrant({ room, roomJoin: true, canPublish: true, canSubscribe: true });
  return token.toJwt();
}

beforeAll(async () => {
  redis = await startRedis();
  const shared = { host: redis.host, port: redis.port };
  nodes.push(await startLiveKit({ redis: shared, keys }));
  nodes.push(await startLiveKit({ redis: shared, keys }));
});

afterAll(async () => {
  await Promise.allSettled(participants.map((p) => p.close()));
  // rtc-node keeps a native runtime alive until disposed; without this the worker may never exit.
  await dispose().catch(() => undefined);
  await Promise.allSettled(nodes.map((node) => node.stop()));
  await redis?.stop();
});

describe("two livekit-server nodes sharing one Redis", () => {
  it("forwards audio and video between participants connected to different nodes", async () => {
    const [nodeA, nodeB] = nodes;
    if (!nodeA || !nodeB) throw new Error("nodes did not start");
    const room = `scale-out-${Date.now()}`;
    const alice = await joinWithSyntheticMedia(nodeA.url, await tokenFor(room, "alice"));
    participants.push(alice);
    const bob = await joinWithSyntheticMedia(nodeB.url, await tokenFor(room, "bob"));
    participants.push(bob);

    const enough = (p: SyntheticParticipant, from: string) => {
      const counts = p.received.get(from);
      return counts !== undefined && counts.audio >= 20 && counts.video >= 5;
    };
    await waitUntil(
      "alice and bob to receive audio and video frames from each other",
      async () => enough(alice, "bob") && enough(bob, "alice"),
      45_000,
      200,
    );
    expect(alice.received.get("bob")?.audio).toBeGreaterThanOrEqual(20);
    expect(alice.received.get("bob")?.video).toBeGreaterThanOrEqual(5);
    expect(bob.received.get("alice")?.audio).toBeGreaterThanOrEqual(20);
    expect(bob.received.get("alice")?.video).toBeGreaterThanOrEqual(5);

    // Both nodes see one room with both participants: the room state really is shared via Redis.
    for (const node of nodes) {
      const service = new RoomServiceClient(node.httpUrl, keys.apiKey, keys.apiSecret);
      const identities = (await service.listParticipants(room)).map((p) => p.identity).sort();
      expect(identities).toEqual(["alice", "bob"]);
    }
  });
});
