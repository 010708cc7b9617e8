// An eavesdropper as the threat model allows one: a valid LiveKit token for the call's room (the SFU
// or anyone holding its API secret can mint one) but no call secret and so no keys. It is a plain
// livekit-client page in Chromium, without E2EE: whatever the SFU forwards goes straight to the
// decoders. The app ships no such page: the script is injected into a plain loopback document
// (the Worker's health answer), which keeps Chromium's local-network-access checks satisfied.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { AccessToken } from "livekit-server-sdk";
import type { BrowserContext, Page } from "playwright-core";

const LIVEKIT_UMD = fileURLToPath(
  new URL("../../node_modules/livekit-client/dist/livekit-client.umd.js", import.meta.url),
);

export interface EavesdropperTrackStats {
  participant: string;
  kind: string;
  packetsReceived: number;
  bytesReceived: number;
  framesDecoded: number;
  /** Audio samples that came from decoded packets rather than concealment. */
  samplesDecoded: number;
  totalAudioEnergy: number;
}

export async function mintToken(
  livekit: { apiKey: string; apiSecret: string },
  roomId: string,
  identity: string,
): Promise<string> {
  const token = new AccessToken(livekit.apiKey, livekit.apiSecret, { identity, ttl: 600 });
  token.addGrant({ roomJoin: true, room: roomId, canSubscribe: true, canPublish: false });
  return token.toJwt();
}

export async function openEavesdropper(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/v1/health`);
  await page.addScriptTag({ content: await readFile(LIVEKIT_UMD, "utf8") });
  return page;
}

/** Connects without any E2EE and subscribes to everything. */
export async function eavesdrop(page: Page, url: string, token: string): Promise<void> {
  await page.evaluate(
    async ({ url, token }) => {
      // biome-ignore lint/suspicious/noExplicitAny: the UMD global has no types in the page
      const lk = (window as any).LivekitClient;
      const room = new lk.Room({ adaptiveStream: false, dynacast: false });
      // biome-ignore lint/suspicious/noExplicitAny: test-only global
      (window as any).room = room;
      await room.connect(url, token, { autoSubscribe: true });
    },
    { url, token },
  );
}

export function eavesdropperStats(page: Page): Promise<EavesdropperTrackStats[]> {
  return page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: test-only global
    const room = (window as any).room;
    const out: EavesdropperTrackStats[] = [];
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.trackPublications.values()) {
        const receiver: RTCRtpReceiver | undefined = publication.track?.receiver;
        if (!receiver) continue;
        const report = await receiver.getStats();
        report.forEach((entry: Record<string, number | string>) => {
          if (entry.type !== "inbound-rtp") return;
          const n = (field: string) =>
            typeof entry[field] === "number" ? (entry[field] as number) : 0;
          out.push({
            participant: participant.identity,
            kind: String(entry.kind),
            packetsReceived: n("packetsReceived"),
            bytesReceived: n("bytesReceived"),
            framesDecoded: n("framesDecoded"),
            samplesDecoded: n("totalSamplesReceived") - n("concealedSamples"),
            totalAudioEnergy: n("totalAudioEnergy"),
          });
        });
      }
    }
    return out;
  });
}

export async function leaveEavesdropper(page: Page): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: test-only global
  await page.evaluate(() => (window as any).room?.disconnect());
  await page.close();
}
