// Browserless participants for SFU tests: @livekit/rtc-node publishes synthetic audio (a sine tone)
// and video (a moving grey ramp) frames and counts the frames it receives from others. The SFU only
// forwards what it gets, so counting decoded frames on the far side proves media crossed it.
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  LocalVideoTrack,
  type RemoteTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  VideoBufferType,
  VideoFrame,
  VideoSource,
  VideoStream,
} from "@livekit/rtc-node";

const SAMPLE_RATE = 48_000;
const SAMPLES_PER_FRAME = SAMPLE_RATE / 100; // 10 ms frames, what WebRTC's audio pipeline uses
const WIDTH = 160;
const HEIGHT = 120;

export interface ReceivedFrames {
  audio: number;
  video: number;
}

export interface SyntheticParticipant {
  room: Room;
  /** Frames received so far, per remote participant identity. */
  received: Map<string, ReceivedFrames>;
  /** Stops publishing and reading, disconnects. Safe to call twice. */
  close(): Promise<void>;
}

/** Connects to `url` with `token`, publishes one audio and one video track, counts what arrives. */
export async function joinWithSyntheticMedia(
  url: string,
  token: string,
): Promise<SyntheticParticipant> {
  const room = new Room();
  const received = new Map<string, ReceivedFrames>();
  const readers: Array<ReadableStreamDefaultReader<unknown>> = [];
  let closed = false;

  room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _publication, participant) => {
    const counts = received.get(participant.identity) ?? { audio: 0, video: 0 };
    received.set(participant.identity, counts);
    const kind = track.kind === TrackKind.KIND_AUDIO ? "audio" : "video";
    const stream = kind === "audio" ? new AudioStream(track) : new VideoStream(track);
    const reader = (stream as ReadableStream<unknown>).getReader();
    readers.push(reader);
    void (async () => {
      while (!closed) {
        const { done } = await reader.read().catch(() => ({ done: true }));
        if (done) return;
        counts[kind] += 1;
      }
    })();
  });

  await room.connect(url, token, { autoSubscribe: true, dynacast: false });

  const audioSource = new AudioSource(SAMPLE_RATE, 1);
  const videoSource = new VideoSource(WIDTH, HEIGHT);
  try {
    const local = room.localParticipant;
    if (!local) throw new Error("connected room has no local participant");
    await local.publishTrack(
      LocalAudioTrack.createAudioTrack("tone", audioSource),
      new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
    );
    await local.publishTrack(
      LocalVideoTrack.createVideoTrack("ramp", videoSource),
      new TrackPublishOptions({ source: TrackSource.SOURCE_CAMERA }),
    );
  } catch (error) {
    closed = true;
    await room.disconnect().catch(() => undefined);
    await Promise.allSettled([audioSource.close(), videoSource.close()]);
    throw error;
  }

  let tick = 0;
  const pumpAudio = async () => {
    const frame = AudioFrame.create(SAMPLE_RATE, 1, SAMPLES_PER_FRAME);
    while (!closed) {
      for (let i = 0; i < SAMPLES_PER_FRAME; i++) {
        const t = (tick * SAMPLES_PER_FRAME + i) / SAMPLE_RATE;
        frame.data[i] = Math.round(8000 * Math.sin(2 * Math.PI * 440 * t));
      }
      tick += 1;
      // captureFrame paces itself: it resolves once the source's queue has room again.
      await audioSource.captureFrame(frame).catch(() => undefined);
    }
  };
  const audioDone = pumpAudio();
  const rgba = new Uint8Array(WIDTH * HEIGHT * 4);
  let shade = 0;
  const videoTimer = setInterval(() => {
    shade = (shade + 8) % 256;
    rgba.fill(shade);
    videoSource.captureFrame(new VideoFrame(rgba, WIDTH, HEIGHT, VideoBufferType.RGBA));
  }, 1000 / 30);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      closed = true;
      clearInterval(videoTimer);
      await Promise.allSettled(readers.map((reader) => reader.cancel()));
      await audioDone;
      await room.disconnect().catch(() => undefined);
      await Promise.allSettled([audioSource.close(), videoSource.close()]);
    })();
    return closing;
  };
  return { room, received, close };
}
