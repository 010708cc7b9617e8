// Pre-join state: the camera and microphone preview, device lists and mute toggles. The tracks made
// here are the ones published on join, so what a person previews is what the call gets.
import {
  createLocalAudioTrack,
  createLocalVideoTrack,
  type LocalAudioTrack,
  type LocalTrack,
  type LocalVideoTrack,
  MediaDeviceFailure,
  Room,
} from "livekit-client";
import { type Accessor, createSignal, onCleanup } from "solid-js";
import { videoResolution } from "../media/callMedia";
import type { VideoQuality } from "../media/videoQuality";

type DeviceProblem = "denied" | "not-found" | "in-use" | "other";

export interface PreJoin {
  video: Accessor<LocalVideoTrack | undefined>;
  audio: Accessor<LocalAudioTrack | undefined>;
  cameraOn: Accessor<boolean>;
  micOn: Accessor<boolean>;
  cameras: Accessor<MediaDeviceInfo[]>;
  microphones: Accessor<MediaDeviceInfo[]>;
  problem: Accessor<DeviceProblem | undefined>;
  /** False while a camera or microphone is being opened. */
  settled: Accessor<boolean>;
  start(): Promise<void>;
  setCamera(on: boolean): Promise<void>;
  setMic(on: boolean): Promise<void>;
  chooseCamera(deviceId: string): Promise<void>;
  chooseMicrophone(deviceId: string): Promise<void>;
  /** Hands the tracks over to the call once opening them settled: the pre-join stops owning them. */
  takeTracks(): Promise<LocalTrack[]>;
}

function problemOf(error: unknown): DeviceProblem {
  switch (MediaDeviceFailure.getFailure(error)) {
    case MediaDeviceFailure.PermissionDenied:
      return "denied";
    case MediaDeviceFailure.NotFound:
      return "not-found";
    case MediaDeviceFailure.DeviceInUse:
      return "in-use";
    default:
      return "other";
  }
}

export function createPreJoin(quality: VideoQuality): PreJoin {
  const [video, setVideo] = createSignal<LocalVideoTrack>();
  const [audio, setAudio] = createSignal<LocalAudioTrack>();
  const [cameraOn, setCameraOn] = createSignal(true);
  const [micOn, setMicOn] = createSignal(true);
  const [cameras, setCameras] = createSignal<MediaDeviceInfo[]>([]);
  const [microphones, setMicrophones] = createSignal<MediaDeviceInfo[]>([]);
  const [problem, setProblem] = createSignal<DeviceProblem>();
  const [opening, setOpening] = createSignal(0);
  let pending: Promise<unknown> = Promise.resolve();
  let handedOver = false;

  /** Tracks in-flight device opens, so joining waits for them instead of losing a track. */
  function track<T>(work: Promise<T>): Promise<T> {
    setOpening((n) => n + 1);
    const done = work.finally(() => setOpening((n) => n - 1));
    pending = Promise.allSettled([pending, done]);
    return done;
  }

  async function refreshDevices() {
    setCameras(await Room.getLocalDevices("videoinput", false));
    setMicrophones(await Room.getLocalDevices("audioinput", false));
  }

  async function openCamera(deviceId?: string) {
    video()?.stop();
    setVideo(undefined);
    try {
      setVideo(
        await createLocalVideoTrack({
          resolution: videoResolution(quality),
          ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
        }),
      );
      setProblem(undefined);
    } catch (error) {
      setProblem(problemOf(error));
      setCameraOn(false);
    }
  }

  async function openMic(deviceId?: string) {
    audio()?.stop();
    setAudio(undefined);
    try {
      setAudio(await createLocalAudioTrack(deviceId ? { deviceId: { exact: deviceId } } : {}));
    } catch (error) {
      setProblem(problemOf(error));
      setMicOn(false);
    }
  }

  onCleanup(() => {
    if (handedOver) return;
    video()?.stop();
    audio()?.stop();
  });

  return {
    video,
    audio,
    cameraOn,
    micOn,
    cameras,
    microphones,
    problem,
    settled: () => opening() === 0,
    async start() {
      await track(Promise.all([openCamera(), openMic()]));
      await refreshDevices();
    },
    async setCamera(on) {
      setCameraOn(on);
      if (on) await track(openCamera());
      else {
        video()?.stop();
        setVideo(undefined);
      }
    },
    async setMic(on) {
      setMicOn(on);
      if (on) await track(openMic());
      else {
        audio()?.stop();
        setAudio(undefined);
      }
    },
    async chooseCamera(deviceId) {
      if (cameraOn()) await track(openCamera(deviceId));
    },
    async chooseMicrophone(deviceId) {
      if (micOn()) await track(openMic(deviceId));
    },
    async takeTracks() {
      await pending;
      handedOver = true;
      const tracks: LocalTrack[] = [];
      const v = video();
      const a = audio();
      if (v && cameraOn()) tracks.push(v);
      if (a && micOn()) tracks.push(a);
      return tracks;
    },
  };
}
