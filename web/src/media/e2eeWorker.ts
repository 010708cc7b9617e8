// The E2EE worker: livekit-client's frame cryptor, wrapped so that only what our key plan allows
// gets through (docs/media-keys.md, 5. The E2EE worker and Fail closed). The
// SFU that drives livekit's signalling is not trusted, and livekit's own rules would let it, or a
// locked-out member, get frames accepted:
// - every frame passes our FrameGuard before and after livekit's transform (frameGuard.ts): key
//   index in the sender's allowed set, really decrypted, never replayed; our own frames leave only
//   under the allowed send key, and not at all with "send nothing";
// - livekit passes frames through in plaintext for a participant whose encryption is not
//   "enabled" (unknown sender, or one the SFU reported as unencrypted): here it is enabled for every
//   participant before livekit sees any of its tracks, and `enable` messages are forced to true;
// - livekit lets the SFU name a "server injected frame" trailer (SIF) and then passes frames
//   ending with it through undecrypted: the trailer is never installed in livekit, only told to the
//   guard, which counts such refused frames apart (the SFU's blank frames when a track stops);
// - livekit would ratchet keys on request and strip "packet trailers" the SFU says a track has:
//   ratchet requests are dropped and packet trailers switched off (we never publish them);
// - data-channel encryption is not used: such requests are refused.
// A video frame whose only fault is a key index not allowed yet waits for the next commit
// (frameHold.ts) and then goes through the guard again, as if it had just arrived.
//
// Ordering: livekit handles its messages one after another (an async queue; setKey awaits the key
// derivation). A plan's new keys are allowed only once livekit holds them: after the page's key
// messages it sends a barrier, which we pass to livekit as a marked `enable`; livekit echoes an
// `enable` after handling it in order, and our postMessage wrapper takes that echo as "the keys
// before this are installed" and keeps it from the page. A message that re-points a track id to
// another sender is followed by such a marker in the same way (decodePipelines.ts).
import "livekit-client/e2ee-worker";
import { isRecord } from "../../../protocol/guards";
import { DecodePipelines } from "./decodePipelines";
import { FrameGuard, type GuardedFrame } from "./frameGuard";
import { type GuardSides, guardedSource, recordTransformers } from "./guardedTransform";
import { BarrierMessageSchema, PlanMessageSchema, type RefusedMessage } from "./guardProtocol";

/** The parts of the worker global scope livekit and we use (web/ is type-checked with DOM libs). */
interface WorkerScope {
  onmessage: ((event: MessageEvent) => void) | null;
  onrtctransform?: ((event: { transformer: unknown }) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const BARRIER = "hushBarrier";
const REPOINT = "hushRepoint";
const INTERNAL = "hushInternal";
const REPORT_DELAY_MS = 250;

// Before livekit makes any: its frame transforms are found by their transformer.
recordTransformers(globalThis);

const scope = self as unknown as WorkerScope;
const livekitOnMessage = scope.onmessage;
const livekitOnTransform = scope.onrtctransform ?? undefined;
const postToPage = scope.postMessage.bind(scope);
const guard = new FrameGuard();
const decodePipelines = new DecodePipelines(guard);
/**
 * The track ids of our own published tracks. livekit keeps one frame cryptor per track id for
 * sending and receiving alike, and re-points it at whichever sender the newest decode names; a
 * remote track's id is its MediaStream id, which the SFU writes. A remote track given one of our
 * ids would make livekit encrypt our frames with that member's keys (in the same slots, so the
 * guard's send check alone cannot tell): any receive-side message naming one of these ids is
 * refused, and so is a publication whose id already names a received track.
 */
const publishedTracks = new Set<string>();
/** Whether a message for `trackId` may reach livekit (see publishedTracks). */
function mayUseTrack(kind: "encode" | "decode", trackId: string): boolean {
  if (kind === "decode") return !publishedTracks.has(trackId);
  if (decodePipelines.has(trackId)) return false;
  publishedTracks.add(trackId);
  return true;
}
// Refusal counts go to the page shortly after they change (ids and numbers only).
guard.onRefused = () => scheduleReport();

function toLivekit(data: unknown) {
  livekitOnMessage?.call(scope, new MessageEvent("message", { data }));
}

/** livekit's per-participant "encryption enabled" flag, set before it sees that participant. */
function forceEncryption(participantIdentity: string) {
  toLivekit({ kind: "enable", data: { enabled: true, participantIdentity, [INTERNAL]: true } });
}

/**
 * The streams livekit gets for a track: the frames' source, readable only through livekit's
 * transform with our guard around it (guardedTransform.ts), and the destination as it is.
 */
function interpose(
  kind: "encode" | "decode",
  participantId: string,
  trackId: string,
  readable: ReadableStream<GuardedFrame>,
  writable: WritableStream<GuardedFrame>,
): { readable: ReadableStream<GuardedFrame>; writable: WritableStream<GuardedFrame> } {
  const sides: GuardSides =
    kind === "decode"
      ? decodePipelines.open(trackId, participantId)
      : {
          before(frame, deliver) {
            guard.beforeEncrypt(frame);
            deliver(frame);
          },
          after: (frame) => guard.afterEncrypt(participantId, frame),
          closed() {},
        };
  return { readable: guardedSource(readable, sides), writable };
}

let reportTimer: ReturnType<typeof setTimeout> | undefined;
let reportedVersion = 0;
function scheduleReport() {
  if (reportTimer !== undefined || guard.version === reportedVersion) return;
  reportTimer = setTimeout(() => {
    reportTimer = undefined;
    reportedVersion = guard.version;
    postToPage({ kind: "hush:refused", data: guard.counts() } satisfies RefusedMessage);
  }, REPORT_DELAY_MS);
}

function isStreamPair(data: Record<string, unknown>) {
  return (
    data.readableStream instanceof ReadableStream &&
    data.writableStream instanceof WritableStream &&
    typeof data.participantIdentity === "string" &&
    typeof data.trackId === "string"
  );
}

/**
 * Hands livekit a message that names `participantId` as the sender of `trackId` (livekit re-points
 * that track's cryptor when it gets there), followed by a marker if our pipelines change sender.
 */
function repointing(trackId: string, participantId: string, handOver: () => void) {
  const marker = decodePipelines.repoint(trackId, participantId);
  handOver();
  if (marker === undefined) return;
  toLivekit({
    kind: "enable",
    data: { enabled: true, participantIdentity: participantId, [REPOINT]: marker },
  });
}

function onTransformMessage(kind: "encode" | "decode", data: Record<string, unknown>) {
  if (!isStreamPair(data)) return;
  const participantId = data.participantIdentity as string;
  const trackId = data.trackId as string;
  // Refused: livekit never gets the streams, so that track carries no frames (fail closed).
  if (!mayUseTrack(kind, trackId)) return;
  forceEncryption(participantId);
  const handOver = () => {
    const streams = interpose(
      kind,
      participantId,
      trackId,
      data.readableStream as ReadableStream<GuardedFrame>,
      data.writableStream as WritableStream<GuardedFrame>,
    );
    toLivekit({
      kind,
      data: {
        ...data,
        readableStream: streams.readable,
        writableStream: streams.writable,
        isReuse: false,
        hasPacketTrailer: false,
        packetTrailer: undefined,
      },
    });
  };
  if (kind === "decode") repointing(trackId, participantId, handOver);
  else handOver();
}

scope.onmessage = (event: MessageEvent) => {
  const message: unknown = event.data;
  if (!isRecord(message)) return;
  const data = isRecord(message.data) ? message.data : {};
  switch (message.kind) {
    case "hush:plan": {
      const parsed = PlanMessageSchema.safeParse(message);
      // A plan we cannot read is no reason to keep the last one: what it retired would stay
      // allowed (fail closed; the page's next plan restores what the core holds).
      if (parsed.success) guard.restrict(parsed.data.data.id, parsed.data.data.plan);
      else guard.allowNothing();
      return;
    }
    case "hush:barrier": {
      const parsed = BarrierMessageSchema.safeParse(message);
      if (!parsed.success) return;
      const local = guard.pendingLocal() ?? "";
      toLivekit({
        kind: "enable",
        data: { enabled: true, participantIdentity: local, [BARRIER]: parsed.data.data.id },
      });
      return;
    }
    case "setSifTrailer":
      if (data.trailer instanceof Uint8Array) guard.setServerInjectedTrailer(data.trailer);
      return;
    case "ratchetRequest":
      return;
    case "encryptDataRequest":
    case "decryptDataRequest":
      postToPage({
        kind: "error",
        data: { error: new Error("data channel encryption is not used"), uuid: data.uuid },
      });
      return;
    case "enable":
      if (typeof data.participantIdentity !== "string") return;
      toLivekit({
        kind: "enable",
        data: { enabled: true, participantIdentity: data.participantIdentity },
      });
      return;
    case "decode":
    case "encode":
      onTransformMessage(message.kind, data);
      return;
    case "updateCodec":
      if (typeof data.trackId !== "string" || typeof data.participantIdentity !== "string") return;
      if (!mayUseTrack("decode", data.trackId)) return;
      repointing(data.trackId, data.participantIdentity, () =>
        toLivekit({ kind: "updateCodec", data: { ...data, hasPacketTrailer: false } }),
      );
      return;
    case "removeTransform":
      if (typeof data.trackId !== "string" || typeof data.participantIdentity !== "string") return;
      if (!mayUseTrack("decode", data.trackId)) return;
      decodePipelines.remove(data.trackId, data.participantIdentity);
      toLivekit(message);
      return;
    default:
      toLivekit(message);
  }
};

// Our marked `enable` echoes are ours: a barrier commits the pending plan, the others are dropped.
scope.postMessage = (message: unknown, transfer?: Transferable[]) => {
  if (isRecord(message) && message.kind === "enable" && isRecord(message.data)) {
    const barrier = message.data[BARRIER];
    if (typeof barrier === "number") {
      if (guard.commit(barrier)) decodePipelines.retryAll();
      return;
    }
    const repoint = message.data[REPOINT];
    if (typeof repoint === "number" && decodePipelines.repointed(repoint)) return;
    if (message.data[INTERNAL] === true) return;
  }
  postToPage(message, transfer);
};

// Firefox and Safari: RTCRtpScriptTransform hands livekit the streams in an event instead.
if (livekitOnTransform) {
  scope.onrtctransform = (event: { transformer: unknown }) => {
    const transformer = event.transformer;
    if (!isRecord(transformer) || !isRecord(transformer.options)) return;
    const options = transformer.options;
    const kind = options.kind;
    if (kind !== "encode" && kind !== "decode") return;
    if (typeof options.participantIdentity !== "string" || typeof options.trackId !== "string") {
      return;
    }
    if (
      !(transformer.readable instanceof ReadableStream) ||
      !(transformer.writable instanceof WritableStream)
    ) {
      return;
    }
    const participantId = options.participantIdentity;
    const trackId = options.trackId;
    const { readable, writable } = transformer;
    if (!mayUseTrack(kind, trackId)) return;
    forceEncryption(participantId);
    const handOver = () => {
      const streams = interpose(kind, participantId, trackId, readable, writable);
      livekitOnTransform.call(scope, {
        transformer: {
          readable: streams.readable,
          writable: streams.writable,
          options: { ...options, hasPacketTrailer: false, packetTrailer: undefined },
        },
      });
    };
    if (kind === "decode") repointing(trackId, participantId, handOver);
    else handOver();
  };
}
