// After a full reconnect (the SFU restarted, or it no longer knew our session), livekit unpublishes
// every local track and publishes it again on the new peer connection. By default it first stops
// each camera and microphone track and opens the device again with getUserMedia, for a computer
// back from sleep. Our capture never stopped: only the server went away. Opening the camera again
// is what left video dark after an SFU restart: the new camera track was "live" but delivered no
// frame at all (its media-source stats and our own preview stayed at 0 frames, on every page at
// once), so nothing was encoded or sent, while the microphone, opened again the same way, worked.
// So a rejoin publishes the capture tracks we already have, and opens again only a camera or
// microphone whose capture really ended (a device unplugged, a laptop asleep).
import { type LocalParticipant, Track } from "livekit-client";

/** Makes every later republish of `participant`'s tracks keep the captures that still run. */
export function keepCaptureOnRepublish(participant: LocalParticipant): void {
  const republish = participant.republishAllTracks.bind(participant);
  participant.republishAllTracks = async (options) => {
    for (const publication of participant.trackPublications.values()) {
      const track = publication.track;
      const device =
        publication.source === Track.Source.Camera ||
        publication.source === Track.Source.Microphone;
      if (
        track &&
        device &&
        !track.isMuted &&
        !track.isUserProvided &&
        track.mediaStreamTrack.readyState === "ended"
      ) {
        await track.restartTrack();
      }
    }
    await republish(options, false);
  };
}
