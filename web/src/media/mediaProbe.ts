// What WebRTC and livekit say about our media paths right now, for the chaos suite's failure
// messages: per local publication whether its sender belongs to the live publisher connection and
// is sending, per remote publication whether we want it, are subscribed, and receive packets. A
// "no video after the SFU restart" report needs these to tell a sender that stopped from a
// subscription the SFU paused. Ids, states and counters only: no key, secret or frame content.
import type { Room } from "livekit-client";

export interface LocalPathProbe {
  source: string;
  kind: string;
  trackSid: string;
  muted: boolean;
  /** The capture track's readyState ("live" or "ended"), or "none". */
  capture: string;
  /** The capture track's id: the same id after a rejoin means the device was not opened again. */
  captureId: string;
  /** The sender is one of the current publisher connection's senders. */
  senderInPublisher: boolean;
  /** The sender's track is the capture track the publication holds. */
  senderHasTrack: boolean;
  /** Each encoding's `active` flag as the sender has it (dynacast turns them off). */
  active: boolean[];
  /** The capture track says it has no frames to give (MediaStreamTrack.muted). */
  captureMuted: boolean;
  packetsSent: number;
  bytesSent: number;
  framesEncoded: number;
  keyFramesEncoded: number;
  /** Keyframe requests (PLI and FIR) the SFU sent us for this track. */
  keyframeRequests: number;
  /** Frames the capture source handed to WebRTC (media-source stats). */
  sourceFrames: number;
  qualityLimitation: string;
  /** Frames our own preview element has shown. */
  previewFrames: number;
}

export interface RemotePathProbe {
  participant: string;
  source: string;
  kind: string;
  trackSid: string;
  subscribed: boolean;
  /** livekit asks the SFU for this track (adaptive stream sets it from the element's visibility). */
  enabled: boolean;
  desired: boolean;
  attachedElements: number;
  packetsReceived: number;
  framesReceived: number;
  framesDecoded: number;
  keyFramesDecoded: number;
  /** Keyframe requests (PLI and FIR) our browser sent for this track. */
  keyframeRequests: number;
  /** Audio: samples played, of them made up by loss concealment, and packets the jitter buffer dropped. */
  samplesReceived: number;
  concealedSamples: number;
  packetsDiscarded: number;
}

export interface MediaProbe {
  at: number;
  state: string;
  publisherState: string | undefined;
  localSenders: number;
  local: LocalPathProbe[];
  remote: RemotePathProbe[];
}

function counter(report: Record<string, unknown>, field: string): number {
  const value = report[field];
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

async function statsOf(
  target: { getStats(): Promise<RTCStatsReport> } | undefined,
  type: string,
): Promise<Record<string, number | string>> {
  const sums: Record<string, number | string> = {};
  if (!target) return sums;
  const report = await target.getStats().catch(() => undefined);
  report?.forEach((entry: Record<string, unknown>) => {
    if (entry.type === "media-source") sums.sourceFrames = counter(entry, "frames");
    if (entry.type !== type) return;
    for (const field of [
      "packetsSent",
      "bytesSent",
      "framesEncoded",
      "keyFramesEncoded",
      "packetsReceived",
      "framesReceived",
      "framesDecoded",
      "keyFramesDecoded",
      "pliCount",
      "firCount",
      "totalSamplesReceived",
      "concealedSamples",
      "packetsDiscarded",
    ]) {
      sums[field] = Number(sums[field] ?? 0) + counter(entry, field);
    }
    if (typeof entry.qualityLimitationReason === "string")
      sums.qualityLimitation = entry.qualityLimitationReason;
  });
  return sums;
}

function previewFrames(elements: readonly HTMLMediaElement[]): number {
  let frames = 0;
  for (const element of elements) {
    if (element instanceof HTMLVideoElement) {
      frames += element.getVideoPlaybackQuality().totalVideoFrames;
    }
  }
  return frames;
}

export async function probeMedia(room: Room): Promise<MediaProbe> {
  const publisher = room.engine.pcManager?.publisher;
  const senders = publisher ? publisher.getSenders() : [];
  const local: LocalPathProbe[] = [];
  for (const pub of room.localParticipant.trackPublications.values()) {
    const track = pub.track;
    const sender = track?.sender;
    const sent = await statsOf(sender, "outbound-rtp");
    local.push({
      source: pub.source,
      kind: pub.kind,
      trackSid: pub.trackSid,
      muted: pub.isMuted,
      capture: track?.mediaStreamTrack.readyState ?? "none",
      captureId: track?.mediaStreamTrack.id ?? "",
      senderInPublisher: !!sender && senders.includes(sender),
      senderHasTrack: !!sender && sender.track === track?.mediaStreamTrack,
      active: sender ? sender.getParameters().encodings.map((e) => e.active !== false) : [],
      captureMuted: track?.mediaStreamTrack.muted ?? false,
      packetsSent: Number(sent.packetsSent ?? 0),
      bytesSent: Number(sent.bytesSent ?? 0),
      framesEncoded: Number(sent.framesEncoded ?? 0),
      keyFramesEncoded: Number(sent.keyFramesEncoded ?? 0),
      keyframeRequests: Number(sent.pliCount ?? 0) + Number(sent.firCount ?? 0),
      sourceFrames: Number(sent.sourceFrames ?? 0),
      qualityLimitation: String(sent.qualityLimitation ?? ""),
      previewFrames: previewFrames(track?.attachedElements ?? []),
    });
  }
  const remote: RemotePathProbe[] = [];
  for (const participant of room.remoteParticipants.values()) {
    for (const pub of participant.trackPublications.values()) {
      const received = await statsOf(pub.track?.receiver, "inbound-rtp");
      remote.push({
        participant: participant.identity,
        source: pub.source,
        kind: pub.kind,
        trackSid: pub.trackSid,
        subscribed: pub.isSubscribed,
        enabled: pub.isEnabled,
        desired: pub.isDesired,
        attachedElements: pub.track?.attachedElements.length ?? 0,
        packetsReceived: Number(received.packetsReceived ?? 0),
        framesReceived: Number(received.framesReceived ?? 0),
        framesDecoded: Number(received.framesDecoded ?? 0),
        keyFramesDecoded: Number(received.keyFramesDecoded ?? 0),
        keyframeRequests: Number(received.pliCount ?? 0) + Number(received.firCount ?? 0),
        samplesReceived: Number(received.totalSamplesReceived ?? 0),
        concealedSamples: Number(received.concealedSamples ?? 0),
        packetsDiscarded: Number(received.packetsDiscarded ?? 0),
      });
    }
  }
  return {
    at: Date.now(),
    state: room.state,
    publisherState: publisher?.getConnectionState?.(),
    localSenders: senders.length,
    local,
    remote,
  };
}
