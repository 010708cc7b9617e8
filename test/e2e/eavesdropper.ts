// Eavesdroppers as the threat model allows them: a valid LiveKit token for the call's room (the SFU,
// or anyone holding its API secret, can mint one) but no call secret and so no keys. Each is a
// livekit-client page in Chromium:
// - "plain": no E2EE at all, whatever the SFU forwards goes straight to the decoders and is shown;
// - "wrong-key": livekit's own E2EE with a random key, as a client that guessed a key would run.
// The app ships no such page: livekit-client's UMD build is injected into a plain loopback document
// (the Worker's health answer), which also satisfies Chromium's local-network-access checks.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { AccessToken } from "livekit-server-sdk";
import type { BrowserContext, Page } from "playwright-core";

const LIVEKIT_DIST = new URL("../../node_modules/livekit-client/dist/", import.meta.url);
const LIVEKIT_UMD = fileURLToPath(new URL("livekit-client.umd.js", LIVEKIT_DIST));
const LIVEKIT_E2EE_WORKER = fileURLToPath(new URL("livekit-client.e2ee.worker.js", LIVEKIT_DIST));

export type EavesdropperMode = "plain" | "wrong-key";

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

/** Connects, subscribes to everything and shows every video track in a <video> element. */
export async function eavesdrop(
  page: Page,
  mode: EavesdropperMode,
  url: string,
  token: string,
): Promise<void> {
  const workerSource = mode === "wrong-key" ? await readFile(LIVEKIT_E2EE_WORKER, "utf8") : "";
  await page.evaluate(
    async ({ mode, url, token, workerSource }) => {
      // biome-ignore lint/suspicious/noExplicitAny: the UMD global has no types in the page
      const lk = (window as any).LivekitClient;
      let encryption: unknown;
      if (mode === "wrong-key") {
        const keyProvider = new lk.ExternalE2EEKeyProvider();
        await keyProvider.setKey(crypto.getRandomValues(new Uint8Array(32)).buffer);
        const blob = new Blob([workerSource], { type: "text/javascript" });
        encryption = { keyProvider, worker: new Worker(URL.createObjectURL(blob)) };
      }
      const room = new lk.Room({ adaptiveStream: false, dynacast: false, encryption });
      if (encryption) await room.setE2EEEnabled(true);
      room.on(lk.RoomEvent.TrackSubscribed, (track: { kind: string; attach(): HTMLElement }) => {
        const element = track.attach();
        if (track.kind === "video") {
          element.setAttribute("data-eavesdropped", "");
          document.body.append(element);
        }
      });
      // biome-ignore lint/suspicious/noExplicitAny: test-only global
      (window as any).room = room;
      await room.connect(url, token, { autoSubscribe: true });
    },
    { mode, url, token, workerSource },
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
        report.forEach((entry: Record<string, unknown>) => {
          if (entry.type !== "inbound-rtp") return;
          const n = (field: string) => {
            const value = entry[field];
            return typeof value === "number" ? value : 0;
          };
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
