// Pure: turns the verified roster, livekit's participants and the media statistics into the tiles
// the call screen shows. This is where the fail-closed display rules live, so they can be read in
// one place:
// - a livekit participant whose identity is not on the verified roster is an unverified intruder:
//   its tile shows no media and never a name;
// - a publication the SFU marks as unencrypted is refused (not rendered);
// - a tile is "encrypted" only while frames from that sender actually decrypt and decode;
//   otherwise it says "waiting for key", "waiting for a new key" (its frames name a key we do not
//   hold: retired, or not yet received) or "decrypt errors", never a silent black tile;
// - our own tile says "waiting for a new key" while the core has us send nothing after a leave.
import type { Participant, RemoteParticipant, Track, TrackPublication } from "livekit-client";
import { Track as LkTrack } from "livekit-client";
import type { RosterEntry } from "../core";
import type { ReceiveStats } from "../media/receiveStats";

export type CryptoState =
  | { kind: "sending"; epoch: number | undefined }
  | { kind: "waiting-for-key" }
  /** We send nothing until the core holds a key no leaver had; or a sender's key is not allowed. */
  | { kind: "waiting-for-new-key" }
  /** epoch: the one we send with; undefined while we send nothing ourselves. */
  | { kind: "encrypted"; epoch: number | undefined }
  | { kind: "decrypt-errors"; count: number }
  | { kind: "refused-unencrypted" }
  | { kind: "intruder" };

export interface TileModel {
  /** participant id (or the intruder's livekit identity), plus ":screen" for a screen share */
  key: string;
  participantId: string;
  name: string;
  self: boolean;
  leader: boolean;
  screen: boolean;
  video: Track | undefined;
  audio: Track | undefined;
  micMuted: boolean;
  cameraOff: boolean;
  speaking: boolean;
  crypto: CryptoState;
}

interface CryptoEvidence {
  epoch: number | undefined;
  sendingEpoch: number | undefined;
  /** We sent before and now send nothing (the core's "stop sending"). */
  waitingForNewKey: boolean;
  /** Time of the latest frame the worker's guard refused per sender (not decrypt errors). */
  lastRefusedAt: ReadonlyMap<string, { lastAt: number }>;
  /** Stats of the previous and the latest sample, per sender. */
  previous: ReadonlyMap<string, ReceiveStats>;
  latest: ReadonlyMap<string, ReceiveStats>;
  /** Time of the latest decrypt failure per sender. */
  lastDecryptErrorAt: ReadonlyMap<string, { count: number; lastAt: number }>;
  now: number;
}

/** A decrypt failure this recent marks the tile. */
const ERROR_WINDOW_MS = 3000;

function renderable(publication: TrackPublication | undefined): Track | undefined {
  if (!publication?.track || publication.isMuted) return undefined;
  // Fail closed: remote tracks the SFU reports as unencrypted are never rendered.
  if (!publication.isLocal && !publication.isEncrypted) return undefined;
  return publication.track;
}

function refusesSomething(participant: Participant): boolean {
  for (const publication of participant.trackPublications.values()) {
    if (!publication.isEncrypted) return true;
  }
  return false;
}

function remoteCryptoState(participantId: string, evidence: CryptoEvidence): CryptoState {
  const error = evidence.lastDecryptErrorAt.get(participantId);
  const now = evidence.latest.get(participantId);
  const before = evidence.previous.get(participantId);
  const decoding =
    now !== undefined &&
    before !== undefined &&
    (now.videoFramesDecoded > before.videoFramesDecoded ||
      now.audioSamplesDecoded > before.audioSamplesDecoded);
  if (error && evidence.now - error.lastAt < ERROR_WINDOW_MS && !decoding) {
    return { kind: "decrypt-errors", count: error.count };
  }
  if (decoding) return { kind: "encrypted", epoch: evidence.epoch };
  const refused = evidence.lastRefusedAt.get(participantId);
  if (!decoding && refused && evidence.now - refused.lastAt < ERROR_WINDOW_MS) {
    return { kind: "waiting-for-new-key" };
  }
  return { kind: "waiting-for-key" };
}

function tilesOf(
  participant: Participant,
  base: Omit<TileModel, "key" | "screen" | "video" | "audio" | "micMuted" | "cameraOff">,
): TileModel[] {
  const camera = participant.getTrackPublication(LkTrack.Source.Camera);
  const mic = participant.getTrackPublication(LkTrack.Source.Microphone);
  const screen = participant.getTrackPublication(LkTrack.Source.ScreenShare);
  const intruder = base.crypto.kind === "intruder";
  const tiles: TileModel[] = [
    {
      ...base,
      key: base.participantId,
      screen: false,
      video: intruder ? undefined : renderable(camera),
      audio: intruder || base.self ? undefined : renderable(mic),
      micMuted: !mic || mic.isMuted,
      cameraOff: !camera || camera.isMuted,
    },
  ];
  const screenTrack = intruder ? undefined : renderable(screen);
  if (screenTrack) {
    tiles.push({
      ...base,
      key: `${base.participantId}:screen`,
      screen: true,
      video: screenTrack,
      audio: undefined,
      micMuted: true,
      cameraOff: false,
    });
  }
  return tiles;
}

export function buildTiles(
  local: Participant | undefined,
  remotes: readonly RemoteParticipant[],
  roster: readonly RosterEntry[],
  evidence: CryptoEvidence,
): TileModel[] {
  const byId = new Map(roster.map((entry) => [entry.participantId, entry]));
  const tiles: TileModel[] = [];
  const self = roster.find((entry) => entry.self);
  if (local && self) {
    tiles.push(
      ...tilesOf(local, {
        participantId: self.participantId,
        name: self.displayName,
        self: true,
        leader: self.leader,
        speaking: local.isSpeaking,
        crypto:
          evidence.sendingEpoch === undefined && evidence.waitingForNewKey
            ? { kind: "waiting-for-new-key" }
            : { kind: "sending", epoch: evidence.sendingEpoch },
      }),
    );
  }
  const ordered = [...remotes].sort((a, b) => {
    const ia = roster.findIndex((entry) => entry.participantId === a.identity);
    const ib = roster.findIndex((entry) => entry.participantId === b.identity);
    return (ia < 0 ? Number.MAX_SAFE_INTEGER : ia) - (ib < 0 ? Number.MAX_SAFE_INTEGER : ib);
  });
  for (const participant of ordered) {
    const entry = byId.get(participant.identity);
    if (!entry || entry.self) {
      tiles.push(
        ...tilesOf(participant, {
          participantId: participant.identity,
          name: "Unverified participant",
          self: false,
          leader: false,
          speaking: participant.isSpeaking,
          crypto: { kind: "intruder" },
        }),
      );
      continue;
    }
    tiles.push(
      ...tilesOf(participant, {
        participantId: entry.participantId,
        name: entry.displayName,
        self: false,
        leader: entry.leader,
        speaking: participant.isSpeaking,
        crypto: refusesSomething(participant)
          ? { kind: "refused-unencrypted" }
          : remoteCryptoState(entry.participantId, evidence),
      }),
    );
  }
  return tiles;
}
