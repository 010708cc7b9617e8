// Per-sender media statistics read from WebRTC's getStats(): how many frames we decoded and how
// much audio we played from each participant. They drive each tile's crypto state (frames that do
// not decrypt are dropped before the decoder, so "packets arrive but nothing decodes" means
// "waiting for key" or "decrypt errors") and the read-only test hooks. They hold no key material.
import type { RemoteParticipant } from "livekit-client";

export interface ReceiveStats {
  videoPacketsReceived: number;
  videoFramesDecoded: number;
  audioPacketsReceived: number;
  /** Samples played that came from decoded packets, not from loss concealment. */
  audioSamplesDecoded: number;
  totalAudioEnergy: number;
}

export const EMPTY_RECEIVE_STATS: ReceiveStats = {
  videoPacketsReceived: 0,
  videoFramesDecoded: 0,
  audioPacketsReceived: 0,
  audioSamplesDecoded: 0,
  totalAudioEnergy: 0,
};

function numberField(report: Record<string, unknown>, field: string): number {
  const value = report[field];
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

export async function sampleReceiveStats(participant: RemoteParticipant): Promise<ReceiveStats> {
  const stats = { ...EMPTY_RECEIVE_STATS };
  for (const publication of participant.trackPublications.values()) {
    const receiver = publication.track?.receiver;
    if (!receiver) continue;
    const report = await receiver.getStats();
    report.forEach((entry: Record<string, unknown>) => {
      if (entry.type !== "inbound-rtp") return;
      if (entry.kind === "video") {
        stats.videoPacketsReceived += numberField(entry, "packetsReceived");
        stats.videoFramesDecoded += numberField(entry, "framesDecoded");
      } else if (entry.kind === "audio") {
        stats.audioPacketsReceived += numberField(entry, "packetsReceived");
        stats.audioSamplesDecoded +=
          numberField(entry, "totalSamplesReceived") - numberField(entry, "concealedSamples");
        stats.totalAudioEnergy += numberField(entry, "totalAudioEnergy");
      }
    });
  }
  return stats;
}
