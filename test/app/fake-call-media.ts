// The media layer as the call store sees it (web/src/media/callMedia.ts), without livekit's Room
// or an E2EE worker: participants are plain objects with the fields the store and tiles.ts read,
// and the SFU connection is whatever the test sets. Keys still go through the real MediaKeys, so
// a test can see whether the session's keys reach the media layer. Installed in place of
// CallMedia with vi.mock; every instance the store makes is in `made`.
import type { LocalTrack } from "livekit-client";
import type { DecryptErrors, MediaConnection } from "../../web/src/media/callMedia";
import type { RefusedCounts } from "../../web/src/media/guardProtocol";
import type { KeySource } from "../../web/src/media/keyPlan";
import { MediaKeys } from "../../web/src/media/mediaKeys";
import type { VideoQuality } from "../../web/src/media/videoQuality";

export interface FakeParticipant {
  identity: string;
  isSpeaking: boolean;
  isMicrophoneEnabled: boolean;
  isCameraEnabled: boolean;
  isScreenShareEnabled: boolean;
  /** None: the store reads no tracks in these tests (tiles.ts and the stats find nothing to show). */
  trackPublications: ReadonlyMap<string, never>;
  getTrackPublication(source: unknown): undefined;
}

export function participant(identity: string): FakeParticipant {
  return {
    identity,
    isSpeaking: false,
    isMicrophoneEnabled: true,
    isCameraEnabled: true,
    isScreenShareEnabled: false,
    trackPublications: new Map<string, never>(),
    getTrackPublication: () => undefined,
  };
}

export class FakeCallMedia {
  static made: FakeCallMedia[] = [];
  connection: MediaConnection = "connecting";
  readonly keys = new MediaKeys();
  readonly decryptErrors = new Map<string, DecryptErrors>();
  refused: ReadonlyMap<string, RefusedCounts & { lastAt: number }> = new Map();
  remotes: FakeParticipant[] = [];
  readonly room = {
    localParticipant: participant("local"),
    getActiveDevice: (_kind: MediaDeviceKind): string | undefined => undefined,
  };
  /** The grants the store connected with, in order. */
  readonly connects: { url: string; token: string; tracks: LocalTrack[] }[] = [];
  /** Set to make the next connect fail (the SFU is unreachable). */
  refuseConnect = false;
  closed = false;
  private readonly listeners = new Set<() => void>();

  constructor(readonly quality: VideoQuality) {
    FakeCallMedia.made.push(this);
  }

  attachKeys(source: KeySource): () => void {
    return this.keys.attach(source, () => {});
  }

  connect(url: string, token: string, tracks: LocalTrack[]): Promise<void> {
    this.connects.push({ url, token, tracks });
    return this.refuseConnect ? Promise.reject(new Error("unreachable")) : Promise.resolve();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The SFU connection or the participants changed, as livekit's events would say. */
  set(change: { connection?: MediaConnection; remotes?: FakeParticipant[] }): void {
    if (change.connection) this.connection = change.connection;
    if (change.remotes) this.remotes = change.remotes;
    for (const listener of this.listeners) listener();
  }

  remoteParticipants(): FakeParticipant[] {
    return this.remotes;
  }

  async setMicrophone(on: boolean): Promise<void> {
    this.room.localParticipant.isMicrophoneEnabled = on;
    this.set({});
  }

  async setCamera(on: boolean): Promise<void> {
    this.room.localParticipant.isCameraEnabled = on;
    this.set({});
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
