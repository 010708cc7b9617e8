// A dedicated-worker global in Node for web/src/media/e2eeWorker.ts and livekit-client's real E2EE
// worker code, plus the page side as livekit's E2EEManager drives it: init, setKey (from our
// MediaKeys adapter, or from a copy of the old add-only wiring), enable, decode/encode with web
// streams, and the re-post of getKeys() after a reconnect. Frames are fakes with the fields
// livekit reads (data, timestamp, type, getMetadata()); the crypto is Node's WebCrypto.
import { BaseKeyProvider, type KeyInfo, KeyProviderEvent } from "livekit-client";
import { FakeKeySource } from "../support/fake-key-source";
import { MediaKeys } from "../../web/src/media/mediaKeys";
import { randomId } from "../support/ids";
import { afterEach, beforeAll } from "vitest";

export class FakeVideoFrame {
  constructor(
    public data: ArrayBuffer,
    public timestamp: number,
    public type: "key" | "delta",
    private readonly ssrc: number,
  ) {}
  getMetadata() {
    return { synchronizationSource: this.ssrc, payloadType: 96, mimeType: "video/VP8" };
  }
}

export class FakeAudioFrame {
  constructor(
    public data: ArrayBuffer,
    public timestamp: number,
    private readonly ssrc: number,
  ) {}
  getMetadata() {
    return { synchronizationSource: this.ssrc, payloadType: 111, mimeType: "audio/opus" };
  }
}

export type FakeFrame = FakeVideoFrame | FakeAudioFrame;

type Listener = (event: { data: unknown }) => void;
interface FakeScope {
  self: unknown;
  onmessage: Listener | null;
  onrtctransform: ((event: { transformer: unknown }) => void) | null;
  postMessage: (message: unknown) => void;
  RTCTransformEvent: unknown;
  RTCEncodedVideoFrame: unknown;
  RTCEncodedAudioFrame: unknown;
}

/** Messages the worker posted to the page. */
export const toPage: unknown[] = [];
const pageListeners = new Set<(message: unknown) => void>();

/** Installs the worker global and loads the worker module (once per test file). */
export async function loadWorker(modulePath: string) {
  const scope = globalThis as unknown as FakeScope;
  scope.self = globalThis;
  scope.onmessage = null;
  scope.onrtctransform = null;
  // livekit installs its RTCRtpScriptTransform handler only when this exists.
  scope.RTCTransformEvent = class {};
  scope.RTCEncodedVideoFrame = FakeVideoFrame;
  scope.RTCEncodedAudioFrame = FakeAudioFrame;
  scope.postMessage = (message: unknown) => {
    toPage.push(message);
    for (const listener of pageListeners) listener(message);
  };
  await import(modulePath);
}

const scope = () => globalThis as unknown as FakeScope;

/** Delivers a page message to the worker in its own task, in order, like postMessage does. */
export function toWorker(message: unknown) {
  setTimeout(() => scope().onmessage?.({ data: message }), 0);
}

/** Lets queued messages, livekit's async queue and in-flight frames run. */
export async function settle(ms = 30) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Settles until `done()` holds, at most `maxMs`: for outcomes that take the worker's async key
 * derivations, which a busy machine slows down. The caller still asserts the outcome.
 */
export async function settleUntil(done: () => boolean, maxMs = 3000) {
  const deadline = Date.now() + maxMs;
  while (!done() && Date.now() < deadline) await settle(10);
}

/**
 * The page: livekit's E2EEManager key and enable messages, driven by a key provider. With
 * `legacy`, keys come from a copy of the add-only wiring this repository had before (every held
 * epoch installed for every sender, never removed; getKeys() re-posts everything ever installed).
 */
export class Page {
  readonly provider: BaseKeyProvider;
  private detach: (() => void) | undefined;
  private readonly onPageMessage: (message: unknown) => void;

  constructor(
    readonly session: FakeKeySource,
    legacy = false,
  ) {
    this.provider = legacy ? new LegacyKeys(session) : new MediaKeys();
    this.provider.on(KeyProviderEvent.SetKey, (info: KeyInfo, current: boolean) =>
      this.postKey(info, current),
    );
    this.onPageMessage = (message) => {
      // livekit re-posts every key (not current) when the worker acknowledges an `enable`.
      const m = message as { kind?: string; data?: { enabled?: boolean } };
      if (m.kind === "enable" && m.data?.enabled) {
        for (const info of this.provider.getKeys()) this.postKey(info, false);
      }
    };
    pageListeners.add(this.onPageMessage);
    toWorker({
      kind: "init",
      data: { keyProviderOptions: this.provider.getOptions(), loglevel: "silent" },
    });
    // livekit enables encryption for the local participant once the room has E2EE on.
    this.enable(session.selfId, true);
    if (this.provider instanceof MediaKeys) {
      this.detach = this.provider.attach(session, (message) => toWorker(message));
    } else {
      (this.provider as LegacyKeys).start();
    }
  }

  postKey(info: KeyInfo, current: boolean) {
    toWorker({
      kind: "setKey",
      data: {
        participantIdentity: info.participantIdentity,
        isPublisher: info.participantIdentity === this.session.selfId,
        key: info.key,
        keyIndex: info.keyIndex,
        updateCurrentKeyIndex: current,
      },
    });
  }

  /** What livekit does on RoomEvent.SignalConnected (a reconnect). */
  reconnect() {
    const latest = this.provider.getLatestManuallySetKeyIndex();
    for (const info of this.provider.getKeys()) this.postKey(info, latest === (info.keyIndex ?? 0));
    this.enable(this.session.selfId, true);
  }

  enable(participantIdentity: string, enabled: boolean) {
    toWorker({ kind: "enable", data: { enabled, participantIdentity } });
  }

  close() {
    this.detach?.();
    pageListeners.delete(this.onPageMessage);
  }
}

/** The old keyWiring + SenderKeyProvider, reduced to what reached livekit (for baseline runs). */
class LegacyKeys extends BaseKeyProvider {
  private readonly installed = new Map<string, KeyInfo>();
  private sendingIndex = 0;
  private readonly done = new Set<string>();

  constructor(private readonly session: FakeKeySource) {
    super({ sharedKey: false, ratchetWindowSize: 0, failureTolerance: -1, keyringSize: 16 });
  }

  start() {
    this.session.onChange(() => this.sync());
    this.sync();
  }

  private sync() {
    const state = this.session.keyState();
    for (const { epoch, generation } of state.held) {
      for (const participantId of state.senders) {
        const id = `${participantId}/${epoch}/${generation}`;
        if (this.done.has(id)) continue;
        this.done.add(id);
        void this.install(participantId, epoch, false);
      }
    }
    // The old coreSession forwarded only sending epochs above 0.
    const sendId = `send/${state.sendingEpoch}`;
    if (state.sendingEpoch > 0 && !this.done.has(sendId)) {
      this.done.add(sendId);
      void this.install(state.selfId, state.sendingEpoch, true);
    }
  }

  private async install(participantId: string, epoch: number, current: boolean) {
    const bytes = this.session.senderKey(epoch, participantId);
    if (!bytes) return;
    const { createKeyMaterialFromBuffer } = await import("livekit-client");
    const key = await createKeyMaterialFromBuffer(new Uint8Array(bytes).buffer);
    const info: KeyInfo = { key, participantIdentity: participantId, keyIndex: epoch % 16 };
    this.installed.set(`${participantId}/${info.keyIndex}`, info);
    if (current) this.sendingIndex = epoch % 16;
    this.emit(KeyProviderEvent.SetKey, info, current);
  }

  override getKeys() {
    return [...this.installed.values()];
  }

  override getLatestManuallySetKeyIndex() {
    return this.sendingIndex;
  }
}

/** One side of a transform as the browser hands it to the worker, with what came out. */
export class Pipe {
  private readonly input = new TransformStream<FakeFrame, FakeFrame>();
  private readonly output = new TransformStream<FakeFrame, FakeFrame>();
  private readonly writer = this.input.writable.getWriter();
  readonly out: FakeFrame[] = [];

  constructor(
    readonly kind: "encode" | "decode",
    readonly participantIdentity: string,
    readonly trackId = randomId(),
    scriptTransform = false,
  ) {
    void this.collect();
    const readable = this.input.readable;
    const writable = this.output.writable;
    if (scriptTransform) {
      scope().onrtctransform?.({
        transformer: {
          readable,
          writable,
          options: { kind, participantIdentity, trackId: this.trackId, hasPacketTrailer: false },
        },
      });
    } else {
      toWorker({
        kind,
        data: {
          readableStream: readable,
          writableStream: writable,
          trackId: this.trackId,
          participantIdentity,
          isReuse: false,
          hasPacketTrailer: false,
          codec: "vp8",
        },
      });
    }
  }

  private async collect() {
    const reader = this.output.readable.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.out.push(value);
    }
  }

  async write(frame: FakeFrame) {
    await this.writer.write(frame);
  }
}

/** livekit's frame format, written independently: AES-GCM under HKDF(sender key), VP8/Opus. */
export class FrameWriter {
  private counter = Math.floor(Math.random() * 0xffff);
  timestamp = Math.floor(Math.random() * 2 ** 31);

  constructor(
    readonly ssrc = Math.floor(Math.random() * 2 ** 32),
    readonly audio = false,
  ) {}

  /** A plaintext frame as the encoder would hand it over (a video delta frame unless `keyframe`). */
  plain(bytes = 200, keyframe = false): FakeFrame {
    this.timestamp = (this.timestamp + (this.audio ? 960 : 3000)) >>> 0;
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 1) data[i] = (i * 7 + this.timestamp) & 0xff;
    return this.audio
      ? new FakeAudioFrame(data.buffer, this.timestamp, this.ssrc)
      : new FakeVideoFrame(data.buffer, this.timestamp, keyframe ? "key" : "delta", this.ssrc);
  }

  /** The next frame, encrypted under `senderKey` and labelled with `slot`. */
  async encrypted(
    senderKey: Uint8Array,
    slot: number,
    bytes = 200,
    keyframe = false,
  ): Promise<FakeFrame> {
    const frame = this.plain(bytes, keyframe);
    frame.data = await encryptFrame(frame, senderKey, slot, this.counter);
    this.counter += 1;
    return frame;
  }
}

export async function frameKey(senderKey: Uint8Array): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", new Uint8Array(senderKey), "HKDF", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      salt: new TextEncoder().encode("LKFrameEncryptionKey"),
      hash: "SHA-256",
      info: new ArrayBuffer(128),
    },
    material,
    { name: "AES-GCM", length: 128 },
    false,
    ["encrypt", "decrypt"],
  );
}

async function encryptFrame(
  frame: FakeFrame,
  senderKey: Uint8Array,
  slot: number,
  counter: number,
): Promise<ArrayBuffer> {
  const plain = new Uint8Array(frame.data);
  const clear = frame instanceof FakeAudioFrame ? 1 : frame.type === "key" ? 10 : 3;
  const ssrc = frame.getMetadata().synchronizationSource;
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  view.setUint32(0, ssrc);
  view.setUint32(4, frame.timestamp);
  view.setUint32(8, (frame.timestamp - (counter % 0xffff)) >>> 0);
  const cipher = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: plain.subarray(0, clear) },
      await frameKey(senderKey),
      plain.subarray(clear),
    ),
  );
  const out = new Uint8Array(clear + cipher.byteLength + 12 + 2);
  out.set(plain.subarray(0, clear));
  out.set(cipher, clear);
  out.set(iv, clear + cipher.byteLength);
  out[out.length - 2] = 12;
  out[out.length - 1] = slot;
  return out.buffer;
}

/** Decrypts one of our encrypted frames with `senderKey`, or undefined when it does not open. */
export async function openFrame(
  frame: FakeFrame,
  senderKey: Uint8Array,
): Promise<Uint8Array | undefined> {
  const data = new Uint8Array(frame.data);
  const clear =
    frame instanceof FakeAudioFrame ? 1 : (frame as FakeVideoFrame).type === "key" ? 10 : 3;
  const iv = data.subarray(data.length - 14, data.length - 2);
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: data.subarray(0, clear) },
        await frameKey(senderKey),
        data.subarray(clear, data.length - 14),
      ),
    );
  } catch {
    return undefined;
  }
}

/** A copy of a frame (what the SFU records and injects again). */
export function copyFrame(frame: FakeFrame): FakeFrame {
  const data = frame.data.slice(0);
  return frame instanceof FakeAudioFrame
    ? new FakeAudioFrame(data, frame.timestamp, frame.getMetadata().synchronizationSource)
    : new FakeVideoFrame(
        data,
        frame.timestamp,
        frame.type,
        frame.getMetadata().synchronizationSource,
      );
}

/** Writes `frames` into `pipe` and returns how many came out the other end. */
export async function deliver(pipe: Pipe, frames: FakeFrame[]): Promise<number> {
  const before = pipe.out.length;
  for (const frame of frames) await pipe.write(frame);
  await settle();
  return pipe.out.length - before;
}

/** `count` frames `sender` encrypted under its sender key of `epoch`, in its slot. */
export async function framesFrom(
  writer: FrameWriter,
  session: FakeKeySource,
  epoch: number,
  sender: string,
  count = 5,
): Promise<FakeFrame[]> {
  const key = session.senderKey(epoch, sender);
  if (!key) throw new Error(`no key for epoch ${epoch}`);
  return Promise.all(Array.from({ length: count }, () => writer.encrypted(key, epoch % 16)));
}

/**
 * A call seen from `self`: `others` verified, `epochs` held, sending with `sending`, keys applied
 * by a Page (the old add-only wiring with `legacy`). The caller closes the page.
 */
export async function openCall(
  options: { others?: number; epochs?: number[]; sending?: number; legacy?: boolean } = {},
) {
  const self = randomId();
  const others = Array.from({ length: options.others ?? 1 }, () => randomId());
  const session = new FakeKeySource(self);
  const page = new Page(session, options.legacy ?? false);
  session.set({ senders: others });
  for (const epoch of options.epochs ?? [1]) session.hold(epoch);
  session.set({ sendingEpoch: options.sending ?? 1 });
  await settle();
  return { self, others, session, page };
}

/** Our wrapped worker, what the app runs. */
export const GUARDED_WORKER = new URL("../../web/src/media/e2eeWorker.ts", import.meta.url)
  .pathname;

/**
 * A test file's worker (`modulePath`, loaded once for the file) and its calls: `call` opens one
 * (with the old add-only wiring when `legacy`), each closed after its test; `page()` is the open one.
 */
export function workerCalls(modulePath = GUARDED_WORKER, legacy = false) {
  let page: Page | undefined;
  beforeAll(async () => {
    await loadWorker(modulePath);
  });
  afterEach(() => {
    page?.close();
    page = undefined;
  });
  return {
    async call(options: { others?: number; epochs?: number[]; sending?: number } = {}) {
      const opened = await openCall({ ...options, legacy });
      page = opened.page;
      return opened;
    },
    page: () => page,
  };
}
