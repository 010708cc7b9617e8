// The LiveKit token minted on join and on request: verified with livekit-server-sdk's own
// TokenVerifier and checked claim by claim, so nothing more (no name, metadata, admin rights) slips in.
import { TokenVerifier } from "livekit-server-sdk";
import { describe, expect, it } from "vitest";
import { TestClient } from "./client";
import { randomId } from "../support/ids";

const verifier = new TokenVerifier("devkey", "secret");

async function claimsOf(token: string) {
  return verifier.verify(token);
}

describe("LiveKit token", () => {
  it("names the room and the participant, grants publish/subscribe only, and expires within 10 min", async () => {
    const roomId = randomId();
    const { client, welcome } = await TestClient.join(roomId);
    client.send({ type: "token" });
    const answer = await client.next("token");
    for (const token of [welcome.livekit.token, answer.livekit.token]) {
      const claims = await claimsOf(token);
      expect(Object.keys(claims).sort()).toEqual(["exp", "iss", "nbf", "sub", "video"]);
      expect(claims.iss).toBe("devkey");
      expect(claims.sub).toBe(client.participantId);
      expect(claims.video).toEqual({
        room: roomId,
        roomJoin: true,
        canPublish: true,
        canSubscribe: true,
        canPublishData: false,
      });
      const lifetime = (claims.exp ?? 0) - (claims.nbf ?? 0);
      expect(lifetime).toBeGreaterThan(0);
      expect(lifetime).toBeLessThanOrEqual(600);
      expect((claims.exp ?? 0) * 1000).toBeLessThanOrEqual(Date.now() + 600_000 + 5_000);
    }
  });

  it("does not verify under another secret", async () => {
    const { welcome } = await TestClient.join(randomId());
    await expect(
      new TokenVerifier("devkey", "other-secret").verify(welcome.livekit.token),
    ).rejects.toThrow();
  });
});
