// Remote videos that receive packets yet decode nothing ask the SFU for a keyframe.
//
// After an SFU restart the new subscription's first frames, keyframes included, are decoded, and
// then, now and then, the browser accepts none of the delta frames that follow, although every one
// of them is decrypted and handed back by the E2EE worker. The browser asks for a new keyframe only
// after about 3 s without a decodable frame. A receiver cannot send that request itself (livekit
// in Chromium uses insertable streams, which have no keyframe request), but livekit-server asks
// the publisher for one whenever a subscriber's forwarding resumes after a pause. So a stalled
// video is paused for a moment and resumed: its next keyframe comes a few hundred ms later.
// Counters only: nothing here reads a frame or a key.
import { ConnectionState, type RemoteTrackPublication, type Room, Track } from "livekit-client";

/** Packets arriving but no frame decoded for this long is a stall. */
export const STALL_MS = 750;
/** The second request for one stall waits this long; each later one twice as long as the last. */
export const RETRY_MS = 2_000;
export const MAX_RETRY_MS = 16_000;
/** How often the receivers' counters are read while connected. */
export const SAMPLE_MS = 250;
/** How long a stalled video stays paused: past livekit-server's 100 ms settings debounce. */
export const PAUSE_MS = 250;

export interface VideoCounters {
  packetsReceived: number;
  framesDecoded: number;
}

interface TrackState extends VideoCounters {
  /** When the stall began: the first sample with packets arriving and nothing decoded. */
  askAt: number;
  retryMs: number;
}

/** Pure: from each track's counters over time, when to ask for a keyframe. */
export class StallDetector {
  private readonly tracks = new Map<string, TrackState>();

  /** The track's counters now; true when a keyframe should be asked for now. */
  observe(trackId: string, counters: VideoCounters, now: number): boolean {
    const last = this.tracks.get(trackId);
    if (!last || counters.framesDecoded !== last.framesDecoded) {
      // Decoding: no stall, and the next one starts with the shortest wait.
      this.tracks.set(trackId, { ...counters, askAt: now + STALL_MS, retryMs: RETRY_MS });
      return false;
    }
    const arriving = counters.packetsReceived > last.packetsReceived;
    last.packetsReceived = counters.packetsReceived;
    if (!arriving) {
      // A stream the SFU paused (our own request pauses it too): not a stall, but the back-off
      // stays, so a stall that outlasts our requests is asked about ever more rarely.
      last.askAt = Math.max(last.askAt, now + STALL_MS);
      return false;
    }
    if (now < last.askAt) return false;
    last.askAt = now + last.retryMs;
    last.retryMs = Math.min(last.retryMs * 2, MAX_RETRY_MS);
    return true;
  }

  /** Drops the state of tracks no longer received. */
  keepOnly(trackIds: ReadonlySet<string>) {
    for (const id of this.tracks.keys()) if (!trackIds.has(id)) this.tracks.delete(id);
  }
}

async function countersOf(publication: RemoteTrackPublication): Promise<VideoCounters | undefined> {
  const report = await publication.track?.receiver?.getStats().catch(() => undefined);
  if (!report) return undefined;
  const counters: VideoCounters = { packetsReceived: 0, framesDecoded: 0 };
  report.forEach((entry: Record<string, unknown>) => {
    if (entry.type !== "inbound-rtp") return;
    for (const field of ["packetsReceived", "framesDecoded"] as const) {
      const value = entry[field];
      if (typeof value === "number" && Number.isFinite(value)) counters[field] += value;
    }
  });
  return counters;
}

/** Pauses and resumes the SFU's forwarding of `publication`, which makes it ask for a keyframe. */
function askForKeyframe(publication: RemoteTrackPublication, log: (line: string) => void) {
  if (!publication.isEnabled) return;
  log(`keyframe ${publication.trackSid}`);
  publication.setEnabled(false);
  setTimeout(() => {
    // Back to livekit's own choice (adaptive stream: enabled while a tile shows it), not a pinned
    // "enabled" that would keep a hidden tile's video flowing.
    (publication as unknown as { requestedDisabled: boolean | undefined }).requestedDisabled =
      undefined;
    publication.emitTrackUpdate();
  }, PAUSE_MS);
}

/** Watches `room`'s subscribed remote videos while it is connected; returns the stop. */
export function watchStalledVideo(room: Room, log: (line: string) => void): () => void {
  const detector = new StallDetector();
  let sampling = false;
  const timer = setInterval(async () => {
    if (sampling || room.state !== ConnectionState.Connected) return;
    sampling = true;
    const seen = new Set<string>();
    const now = Date.now();
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.videoTrackPublications.values()) {
        if (!publication.isSubscribed || publication.kind !== Track.Kind.Video) continue;
        const counters = await countersOf(publication);
        if (!counters) continue;
        seen.add(publication.trackSid);
        if (detector.observe(publication.trackSid, counters, now)) askForKeyframe(publication, log);
      }
    }
    detector.keepOnly(seen);
    sampling = false;
  }, SAMPLE_MS);
  return () => clearInterval(timer);
}
