// Read-only numbers for the end-to-end suite, on window.__hush: what the page shows and what
// WebRTC decoded, never a key, a secret or a name-to-id mapping beyond what the roster UI shows.
import { type MediaProbe, probeMedia } from "../media/mediaProbe";
import type { CallStore } from "./callStore";

export interface HushTestView {
  screen: string;
  connection: string | undefined;
  selfId: string | undefined;
  epoch: number | undefined;
  sendingEpoch: number | undefined;
  lastRotationAt: number | undefined;
  rosterIds: string[];
  intruders: string[];
  securityCode: string | undefined;
  /** Per remote participant id: decoded video frames, decoded audio samples, packets. */
  receive: Record<
    string,
    {
      videoFramesDecoded: number;
      videoPacketsReceived: number;
      audioSamplesDecoded: number;
      audioPacketsReceived: number;
      totalAudioEnergy: number;
    }
  >;
  decryptErrors: number;
  /** Decrypt failures by sender id. */
  decryptErrorsBy: Record<string, number>;
  /** The latest E2EE worker error messages (key indexes and ids, never key bytes). */
  errorLog: string[];
  keyEpochs: number[];
  /** Keys handed to livekit: time, receive/send, sender id prefix, epoch, slot. No key bytes. */
  keyLog: string[];
  connectionLog: string[];
  /** livekit's connection states and remote camera subscriptions, with times (CallMedia.mediaLog). */
  mediaLog: string[];
  /** Our own publications as the SFU acknowledged them. */
  published: { source: string; muted: boolean; encrypted: boolean }[];
  /** Rotations this client led (leader only): epoch, fresh or ratchet, and why. */
  rotations: { epoch: number; fresh: boolean; reason: string }[];
  /** Frames we could not encrypt yet (no sending key): dropped, never sent in clear. */
  sendErrors: number;
  /**
   * Frames the E2EE worker's guard refused, by sender id and reason: key index not in that
   * sender's allowed set, replayed IV, not decrypted, and of those refused before decryption the
   * SFU's own (server-injected) frames. Apart from decryptErrors (livekit's failures).
   */
  refused: Record<
    string,
    { keyNotAllowed: number; replay: number; notDecrypted: number; serverInjected: number }
  >;
  /** Our frames the guard kept from leaving ("send nothing", or not under the allowed send key). */
  sendBlocked: number;
  /** The media key plan in force: per sender the epochs livekit holds; our send epoch or null. */
  mediaPlan: { send: number | null; receive: Record<string, number[]> };
  /** Crypto state shown on each tile, by participant id. */
  tileStates: Record<string, string>;
  /** Ask-to-join calls: our standing, and (host and co-hosts) the ids asking to join. */
  admission: { status: string; role: string; waitingIds: string[] } | undefined;
}

function planView(store: CallStore): HushTestView["mediaPlan"] {
  const plan = store.media.keys.plan();
  return {
    send: plan.send?.epoch ?? null,
    receive: Object.fromEntries(
      [...plan.receive].map(([id, ring]) => [
        id,
        [...ring.values()].map((k) => k.epoch).sort((a, b) => a - b),
      ]),
    ),
  };
}

export function installTestHooks(screen: () => string, store: () => CallStore | undefined) {
  const view = (): HushTestView => {
    const s = store();
    const receive: HushTestView["receive"] = {};
    const tileStates: Record<string, string> = {};
    if (s) {
      for (const [id, stats] of s.receiveStats()) receive[id] = { ...stats };
      for (const tile of s.tiles())
        if (!tile.screen) tileStates[tile.participantId] = tile.crypto.kind;
    }
    return {
      screen: screen(),
      connection: s?.connection(),
      selfId: s?.selfId(),
      epoch: s?.epoch(),
      sendingEpoch: s?.sendingEpoch(),
      lastRotationAt: s?.lastRotationAt(),
      rosterIds: s ? s.roster().map((entry) => entry.participantId) : [],
      intruders: s ? s.intruders() : [],
      admission: admissionView(s),
      securityCode: s?.securityCode(),
      receive,
      decryptErrors: s ? s.decryptErrorCount() : 0,
      decryptErrorsBy: s
        ? Object.fromEntries([...s.media.decryptErrors].map(([id, e]) => [id, e.count]))
        : {},
      rotations: s ? s.rotations() : [],
      errorLog: s ? [...s.media.errorLog] : [],
      keyEpochs: s ? s.keyEpochs() : [],
      keyLog: s ? [...s.media.keys.log] : [],
      connectionLog: s ? s.connectionLog() : [],
      mediaLog: s ? [...s.media.mediaLog] : [],
      published: s
        ? [...s.media.room.localParticipant.trackPublications.values()].map((p) => ({
            source: p.source,
            muted: p.isMuted,
            encrypted: p.isEncrypted,
          }))
        : [],
      sendErrors: s ? s.media.sendErrors : 0,
      refused: s
        ? Object.fromEntries(
            [...s.media.refused].map(([id, c]) => [
              id,
              {
                keyNotAllowed: c.keyNotAllowed,
                replay: c.replay,
                notDecrypted: c.notDecrypted,
                serverInjected: c.serverInjected,
              },
            ]),
          )
        : {},
      sendBlocked: s ? s.media.sendBlocked : 0,
      mediaPlan: s ? planView(s) : { send: null, receive: {} },
      tileStates,
    };
  };
  Object.defineProperty(window, "__hush", { get: view, configurable: false });
}

/** Test-only controls, installed only with ?test=1 (see settings.ts). */
export function installTestControls(store: () => CallStore | undefined) {
  Object.defineProperty(window, "__hushTest", {
    value: Object.freeze({
      leaveSignallingOnly: () => store()?.leaveSignallingOnly(),
      freezeMedia: () => store()?.freezeMedia(),
      // Senders, subscriptions and their counters: the chaos suite's capture check and failure messages.
      probeMedia: (): Promise<MediaProbe | undefined> => {
        const room = store()?.media.room;
        return room ? probeMedia(room) : Promise.resolve(undefined);
      },
    }),
    configurable: false,
  });
}

function admissionView(store: CallStore | undefined): HushTestView["admission"] {
  const admission = store?.admission();
  if (!admission) return undefined;
  return {
    status: admission.status,
    role: admission.role,
    waitingIds: admission.waiting.map((joiner) => joiner.participantId),
  };
}
