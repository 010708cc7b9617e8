// The media side of a call: one livekit Room with end-to-end encryption always on, fed by our
// MediaKeys. This file owns the Room and the E2EE worker (one of each per call, never per render)
// and turns livekit's events into one "something changed" callback plus a snapshot that the
// CallStore reads. It decides nothing about keys: MediaKeys applies the core's key plan.
import {
  ConnectionState,
  type LocalTrack,
  type LocalVideoTrack,
  LoggerNames,
  type Participant,
  type ReconnectContext,
  type ReconnectPolicy,
  type RemoteParticipant,
  type RemoteTrackPublication,
  Room,
  RoomEvent,
  setLogLevel,
  Track,
  VideoPresets,
} from "livekit-client";
import { assertNever } from "../../../protocol/guards";
import type { VideoQuality } from "./videoQuality";
import { type RefusedCounts, RefusedMessageSchema } from "./guardProtocol";
import { keepCaptureOnRepublish } from "./keepCapture";
import { watchStalledVideo } from "./stalledVideo";
import type { KeySource } from "./keyPlan";
import { MediaKeys } from "./mediaKeys";

/** The SFU connection as the app shows it (livekit's five states in four words). */
export type MediaConnection = "connecting" | "connected" | "reconnecting" | "closed";

/** Decrypt failures reported by livekit's E2EE worker, per sender. */
export interface DecryptErrors {
  count: number;
  lastAt: number;
}

export function videoResolution(quality: VideoQuality) {
  return quality === "low"
    ? { width: 192, height: 108, frameRate: 12 }
    : VideoPresets.h360.resolution;
}

/** After this long without the SFU, livekit gives up and the call ends with a rejoin screen. */
export const SFU_RECONNECT_GIVE_UP_MS = 60_000;

/**
 * How often livekit retries after losing the SFU. Its default waits 0, 0.3, 1.2, 2.7 and 4.8 s and
 * then 7 s between attempts (plus up to 1 s of jitter), so an SFU back after a few seconds was next
 * tried up to 8 s later. We try again about every second, with a quarter second of jitter so the
 * members of a call do not all arrive at once, for a minute.
 *
 * A restarted SFU costs two attempts: the resume reaches the new server, which knows no session and
 * answers with a leave; only then does livekit rejoin in full, after one more retry delay. livekit
 * 2.22 passes no retry reason to the policy, but it marks the engine for a full rejoin before asking
 * (`fullReconnectOnNext`), so `fullNext` reads that mark: the first time in a run of attempts that
 * a failed resume turns into a full rejoin, the server has just answered and the rejoin goes at
 * once. Only that one attempt: a full rejoin that fails stays a full rejoin and waits as before, so
 * a server that answers and then fails again is not hammered.
 */
export function steadyReconnectPolicy(fullNext: () => boolean): ReconnectPolicy {
  let wasFull = false;
  return {
    nextRetryDelayInMs({ retryCount, elapsedMs }: ReconnectContext): number | null {
      if (elapsedMs > SFU_RECONNECT_GIVE_UP_MS) return null;
      const full = fullNext();
      const turnedFull = full && !wasFull && retryCount > 0;
      wasFull = full;
      if (retryCount === 0 || turnedFull) return 0;
      return Math.min(1000, 250 * retryCount) + Math.random() * 250;
    },
  };
}

// livekit's E2EE worker warns once per undecryptable frame; the app counts those failures through
// EncryptionError events instead, so the console keeps only real errors.
setLogLevel("warn");
setLogLevel("error", LoggerNames.E2EE);

export class CallMedia {
  readonly room: Room;
  readonly keys = new MediaKeys();
  /** Real decrypt failures (livekit's EncryptionError): frames under a key we allow that fail. */
  readonly decryptErrors = new Map<string, DecryptErrors>();
  /**
   * Frames the E2EE worker's guard refused, per sender id ("" = a track with no sender): not in
   * the sender's allowed key set, replayed, or not decrypted. Counted apart from decrypt errors.
   * lastAt: when that sender's key-not-allowed count last rose.
   */
  refused: ReadonlyMap<string, RefusedCounts & { lastAt: number }> = new Map();
  /** Our frames the guard kept from leaving (no allowed send key: "send nothing", or not encrypted). */
  sendBlocked = 0;
  /** Failures to encrypt our own frames (no sending key yet): those frames are dropped, not sent. */
  sendErrors = 0;
  /** The latest error messages from the E2EE worker (key indexes and ids only, no key bytes). */
  readonly errorLog: string[] = [];
  /**
   * "time state" per livekit connection state change, "time video <id>" when a remote camera is
   * subscribed and "time published camera" when the SFU took our camera: where a join's or a
   * recovery's time goes between the servers answering and frames decoding.
   */
  readonly mediaLog: string[] = [];
  private readonly worker: Worker;
  private readonly listeners = new Set<() => void>();
  private readonly stopStallWatch: () => void;

  constructor(private readonly quality: VideoQuality) {
    this.worker = new Worker(new URL("./e2eeWorker.ts", import.meta.url), { type: "module" });
    this.room = new Room({
      encryption: { keyProvider: this.keys, worker: this.worker },
      // Hidden tiles (on another page, or the tab in the background) cost no bandwidth: adaptive
      // stream asks the SFU to pause a video no attached element shows and to size what it sends
      // to the tile, and dynacast pauses our encoder when no subscriber wants our video. Both only
      // pause and resume whole streams (one VP8 layer per track, no simulcast): the frames that
      // do flow are encrypted and checked exactly as before, and a resumed stream continues its
      // SSRC and RTP timestamps, so the guard's per-stream replay windows accept it (the browser
      // suite's layout test pages a sender away and back and decodes it again).
      adaptiveStream: true,
      dynacast: true,
      videoCaptureDefaults: { resolution: videoResolution(quality) },
      // VP8 for camera and screen share alike (screen share uses these defaults too), and no
      // backup codec: the worker's frame guard checks livekit's frame layout for VP8 and Opus and
      // refuses the RBSP-escaped H.264/H.265 layout (frameGuard.ts).
      publishDefaults: { simulcast: false, videoCodec: "vp8", dtx: true, red: false },
      // The engine is made inside the Room; until then (and between calls) nothing is pending.
      reconnectPolicy: steadyReconnectPolicy(() => this.room?.engine?.fullReconnectOnNext ?? false),
    });
    // A rejoin after an SFU restart republishes our running camera and microphone as they are.
    keepCaptureOnRepublish(this.room.localParticipant);
    this.worker.addEventListener("message", (event: MessageEvent) => this.onWorkerMessage(event));
    const changed = () => this.notify();
    const record = (line: string) => {
      this.mediaLog.push(`${Date.now()} ${line}`);
      if (this.mediaLog.length > 30) this.mediaLog.shift();
    };
    this.stopStallWatch = watchStalledVideo(this.room, record);
    this.room
      .on(RoomEvent.ConnectionStateChanged, (state: ConnectionState) => record(state))
      .on(RoomEvent.TrackSubscribed, (_track, publication, participant) => {
        if (publication.source === Track.Source.Camera) record(`video ${participant.identity}`);
      })
      .on(RoomEvent.LocalTrackPublished, (publication) => {
        if (publication.source === Track.Source.Camera) record("published camera");
      })
      .on(RoomEvent.ConnectionStateChanged, changed)
      .on(RoomEvent.ParticipantConnected, changed)
      .on(RoomEvent.ParticipantDisconnected, changed)
      .on(RoomEvent.TrackPublished, changed)
      .on(RoomEvent.TrackUnpublished, changed)
      .on(RoomEvent.TrackSubscribed, changed)
      .on(RoomEvent.TrackUnsubscribed, changed)
      .on(RoomEvent.TrackMuted, changed)
      .on(RoomEvent.TrackUnmuted, changed)
      .on(RoomEvent.LocalTrackPublished, changed)
      .on(RoomEvent.LocalTrackUnpublished, changed)
      .on(RoomEvent.ActiveSpeakersChanged, changed)
      .on(RoomEvent.ParticipantEncryptionStatusChanged, changed)
      .on(RoomEvent.MediaDevicesChanged, changed)
      .on(RoomEvent.ActiveDeviceChanged, changed)
      .on(RoomEvent.Disconnected, changed)
      .on(RoomEvent.EncryptionError, (error: Error, participant?: Participant) => {
        // The worker names the participant whose frames failed; our own failures are encryption
        // failures (no sending key yet), everyone else's are decryption failures.
        this.errorLog.push(`${new Date().toISOString()} ${error.message}`);
        if (this.errorLog.length > 30) this.errorLog.shift();
        if (!participant || participant === this.room.localParticipant) {
          this.sendErrors += 1;
        } else {
          const entry = this.decryptErrors.get(participant.identity) ?? { count: 0, lastAt: 0 };
          entry.count += 1;
          entry.lastAt = Date.now();
          this.decryptErrors.set(participant.identity, entry);
        }
        this.notify();
      });
  }

  /** Applies the core's key plan to livekit from now on (the only path keys take). */
  attachKeys(source: KeySource): () => void {
    return this.keys.attach(source, (message) => this.worker.postMessage(message));
  }

  /** Our guard's reports; livekit's own messages are handled by livekit on `onmessage`. */
  private onWorkerMessage(event: MessageEvent) {
    const parsed = RefusedMessageSchema.safeParse(event.data);
    if (!parsed.success) return;
    const now = Date.now();
    const refused = new Map(this.refused);
    for (const { participantId, ...counts } of parsed.data.data.receive) {
      const before = refused.get(participantId);
      // lastAt: when frames naming a key we do not hold last arrived (replays and pass-throughs
      // are attacks, not a sign that we miss a key).
      const rose = !before || before.keyNotAllowed !== counts.keyNotAllowed;
      refused.set(participantId, { ...counts, lastAt: rose ? now : before.lastAt });
    }
    this.refused = refused;
    this.sendBlocked = parsed.data.data.sendBlocked;
    this.notify();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get connection(): MediaConnection {
    switch (this.room.state) {
      case ConnectionState.Connecting:
        return "connecting";
      case ConnectionState.Connected:
        return "connected";
      case ConnectionState.Reconnecting:
      case ConnectionState.SignalReconnecting:
        return "reconnecting";
      case ConnectionState.Disconnected:
        return "closed";
      default:
        return assertNever(this.room.state);
    }
  }

  /**
   * Connects with encryption on and publishes the pre-join tracks. The tracks are handed to
   * livekit while it connects: it holds each publication until its signalling has joined and
   * negotiates them while the peer connection is still being set up, rather than after it, which
   * takes a round of negotiation off the others' wait for our first frame. Each sender gets its
   * encryption transform when livekit creates it, whichever order this happens in.
   */
  async connect(url: string, token: string, tracks: LocalTrack[]) {
    await this.room.setE2EEEnabled(true);
    const connected = this.room.connect(url, token, { autoSubscribe: true });
    const published = tracks.map((track) =>
      this.room.localParticipant.publishTrack(track, {
        source: track.kind === Track.Kind.Video ? Track.Source.Camera : Track.Source.Microphone,
      }),
    );
    await Promise.all([connected, ...published]);
    this.notify();
  }

  remoteParticipants(): RemoteParticipant[] {
    return [...this.room.remoteParticipants.values()];
  }

  async setMicrophone(enabled: boolean) {
    await this.room.localParticipant.setMicrophoneEnabled(enabled);
    this.notify();
  }

  async setCamera(enabled: boolean) {
    await this.room.localParticipant.setCameraEnabled(enabled, {
      resolution: videoResolution(this.quality),
    });
    this.notify();
  }

  async setScreenShare(enabled: boolean) {
    await this.room.localParticipant.setScreenShareEnabled(enabled);
    this.notify();
  }

  async switchDevice(kind: MediaDeviceKind, deviceId: string) {
    await this.room.switchActiveDevice(kind, deviceId);
    this.notify();
  }

  localVideo(source: Track.Source): LocalVideoTrack | undefined {
    const publication = this.room.localParticipant.getTrackPublication(source);
    const track = publication?.videoTrack;
    return track && !publication.isMuted ? track : undefined;
  }

  async close() {
    this.stopStallWatch();
    await this.room.disconnect();
    this.worker.terminate();
    this.notify();
  }

  private notify() {
    for (const listener of this.listeners) listener();
  }
}

/**
 * Fail closed: a remote publication is rendered only when the SFU says it is encrypted with our
 * scheme. A publication the SFU marks as unencrypted would make livekit pass its frames through
 * without decryption, so it is refused, whoever sent it.
 */
export function isRenderable(publication: RemoteTrackPublication): boolean {
  return publication.isEncrypted;
}
