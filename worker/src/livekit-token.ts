// Mints the LiveKit access token for an admitted participant. It carries only what the SFU needs:
// room = the room id, identity = the ephemeral participant id, publish/subscribe to media, no name,
// no metadata, no data channel, no admin or recording rights, and a short lifetime (clients ask
// for a fresh one with {"type":"token"}).
import { AccessToken } from "livekit-server-sdk";
import type { LiveKitConfig } from "./config";
import type { LiveKitGrant } from "../../protocol/signalling";

export async function mintLiveKitGrant(
  config: LiveKitConfig,
  roomId: string,
  participantId: string,
): Promise<LiveKitGrant> {
  const token = new AccessToken(config.apiKey, config.apiSecret, {
    identity: participantId,
    ttl: config.ttlSeconds,
  });
  token.addGrant({
    room: roomId,
    roomJoin: true,
    canPublish: true,
    canSubscribe: true,
    // Keys travel through the signalling Worker, never through LiveKit data channels.
    canPublishData: false,
  });
  return { url: config.url, token: await token.toJwt() };
}
