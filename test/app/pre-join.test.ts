// The pre-join store (web/src/app/preJoin.ts) in Node, inside createRoot, with livekit's device
// functions replaced by fakes (the tracks are plain objects that know whether they were stopped):
// what the preview holds after each choice, which problem a refused device shows, that joining
// waits for a camera still opening, and who stops the tracks (the preview until it hands them over).
import { createRoot } from "solid-js";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createPreJoin, type PreJoin } from "../../web/src/app/preJoin";

interface FakeTrack {
  kind: "video" | "audio";
  deviceId: string;
  stopped: boolean;
  stop(): void;
}

/** The devices behind livekit's functions: what opening each one does next. */
const devices = vi.hoisted(() => ({
  opened: [] as FakeTrack[],
  /** When set, opening a camera or a microphone fails with this error. */
  refuse: new Map<"video" | "audio", Error>(),
  /** When set, the next camera open waits for this promise. */
  slowCamera: undefined as Promise<void> | undefined,
  list: [
    { kind: "videoinput", deviceId: "cam-1" },
    { kind: "videoinput", deviceId: "cam-2" },
    { kind: "audioinput", deviceId: "mic-1" },
  ],
}));

vi.mock("livekit-client", async (importOriginal) => {
  const livekit = await importOriginal<typeof import("livekit-client")>();
  const open = async (kind: "video" | "audio", options?: { deviceId?: { exact: string } }) => {
    const refusal = devices.refuse.get(kind);
    if (refusal) throw refusal;
    if (kind === "video" && devices.slowCamera) {
      const wait = devices.slowCamera;
      devices.slowCamera = undefined;
      await wait;
    }
    const track: FakeTrack = {
      kind,
      deviceId: options?.deviceId?.exact ?? "default",
      stopped: false,
      stop() {
        this.stopped = true;
      },
    };
    devices.opened.push(track);
    return track;
  };
  return {
    ...livekit,
    createLocalVideoTrack: (options?: { deviceId?: { exact: string } }) => open("video", options),
    createLocalAudioTrack: (options?: { deviceId?: { exact: string } }) => open("audio", options),
    Room: {
      getLocalDevices: async (kind: string) => devices.list.filter((d) => d.kind === kind),
    },
  };
});

function preview(): { preJoin: PreJoin; dispose: () => void } {
  return createRoot((dispose) => ({ preJoin: createPreJoin("low"), dispose }));
}

const deviceOf = (track: unknown) => (track as FakeTrack | undefined)?.deviceId;

beforeEach(() => {
  devices.opened = [];
  devices.refuse.clear();
  devices.slowCamera = undefined;
});

describe("pre-join store", () => {
  it("opens the camera and the microphone and lists the devices", async () => {
    const { preJoin, dispose } = preview();
    await preJoin.start();
    expect(deviceOf(preJoin.video())).toBe("default");
    expect(deviceOf(preJoin.audio())).toBe("default");
    expect(preJoin.cameras().map((d) => d.deviceId)).toEqual(["cam-1", "cam-2"]);
    expect(preJoin.microphones().map((d) => d.deviceId)).toEqual(["mic-1"]);
    expect([preJoin.problem(), preJoin.settled()]).toEqual([undefined, true]);
    dispose();
  });

  it("a refused camera shows why and turns the camera off; the microphone still opens", async () => {
    devices.refuse.set("video", Object.assign(new Error("denied"), { name: "NotAllowedError" }));
    const { preJoin, dispose } = preview();
    await preJoin.start();
    expect(preJoin.problem()).toBe("denied");
    expect(preJoin.cameraOn()).toBe(false);
    expect(preJoin.video()).toBeUndefined();
    expect(deviceOf(preJoin.audio())).toBe("default");
    expect((await preJoin.takeTracks()).map((t) => (t as unknown as FakeTrack).kind)).toEqual([
      "audio",
    ]);
    dispose();
  });

  it("turning the camera off stops its track and keeps it out of the call", async () => {
    const { preJoin, dispose } = preview();
    await preJoin.start();
    const camera = preJoin.video() as unknown as FakeTrack;
    await preJoin.setCamera(false);
    expect(camera.stopped).toBe(true);
    expect(preJoin.video()).toBeUndefined();
    const tracks = (await preJoin.takeTracks()) as unknown as FakeTrack[];
    expect(tracks.map((t) => t.kind)).toEqual(["audio"]);
    dispose();
  });

  it("joining while a camera is still opening waits for it: the chosen camera goes to the call", async () => {
    const { preJoin, dispose } = preview();
    await preJoin.start();
    const first = preJoin.video() as unknown as FakeTrack;
    let release = () => {};
    devices.slowCamera = new Promise<void>((resolve) => {
      release = resolve;
    });
    void preJoin.chooseCamera("cam-2");
    expect(preJoin.settled()).toBe(false);
    expect(first.stopped).toBe(true);
    const handed = preJoin.takeTracks();
    release();
    const tracks = (await handed) as unknown as FakeTrack[];
    expect(tracks.map((t) => `${t.kind}:${t.deviceId}`)).toEqual(["video:cam-2", "audio:default"]);
    expect(preJoin.settled()).toBe(true);
    dispose();
  });

  it("stops its tracks when the preview goes, unless it handed them to the call", async () => {
    const left = preview();
    await left.preJoin.start();
    left.dispose();
    expect(devices.opened.map((t) => t.stopped)).toEqual([true, true]);

    devices.opened = [];
    const joined = preview();
    await joined.preJoin.start();
    await joined.preJoin.takeTracks();
    joined.dispose();
    expect(devices.opened.map((t) => t.stopped)).toEqual([false, false]);
  });
});
