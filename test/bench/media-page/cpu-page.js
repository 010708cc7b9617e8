// The CPU A/B page of the media benchmark: one participant publishing the fake camera and
// microphone at the web app's low setting and rendering everyone else, with livekit-client's frame
// encryption on or off, with the web app's own E2EE worker (livekit's frame code inside our frame
// guard), or with a pass-through worker in its place. Everything else is identical, so the
// browser's CPU time in the runs differs by the cost of end-to-end encryption, and the
// pass-through run splits that cost in two.
import { ExternalE2EEKeyProvider, Room, RoomEvent, Track } from "/livekit-client.esm.mjs";

const params = new URLSearchParams(location.search);
// "1": livekit's E2EE worker; "hush": the web app's built E2EE worker (web/src/media/e2eeWorker.ts);
// "transform": every frame through livekit's encoded transform and a pass-through worker
// (transform-worker.js), no cipher; "0": no encoded transform at all.
const mode = params.get("e2ee") ?? "0";
const e2ee = mode !== "0";
const WORKERS = { transform: "/transform-worker.mjs", hush: "/hush-worker.mjs" };
const workerScript = WORKERS[mode] ?? "/e2ee-worker.mjs";
// Our identity and the others' (the web app's worker lets through only the senders its plan names).
const self = params.get("self") ?? "";
const peers = (params.get("peers") ?? "").split(",").filter((id) => id && id !== self);
const url = params.get("url") ?? "";
const token = params.get("token") ?? "";
// firstFrameAt - connectingAt: join → first frame, the page's own clock (epoch ms) at both ends.
const state = { connected: false, error: "", e2ee, connectingAt: 0, firstFrameAt: 0 };
window.__bench = {
  state,
  async framesDecoded() {
    let total = 0;
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.trackPublications.values()) {
        const receiver = publication.track?.receiver;
        if (!receiver || publication.kind !== Track.Kind.Video) continue;
        (await receiver.getStats()).forEach((entry) => {
          if (entry.type === "inbound-rtp") total += entry.framesDecoded ?? 0;
        });
      }
    }
    return total;
  },
};

const capture = { resolution: { width: 320, height: 180, frameRate: 15 } };
let room;
let worker;
if (e2ee) {
  const keyProvider = new ExternalE2EEKeyProvider();
  worker = new Worker(workerScript, { type: "module" });
  room = new Room({ videoCaptureDefaults: capture, e2ee: { keyProvider, worker } });
  // A shared passphrase: this page measures cost, not secrecy.
  await keyProvider.setKey("hush media bench");
} else {
  room = new Room({ videoCaptureDefaults: capture });
}
room.on(RoomEvent.TrackSubscribed, (track) => {
  const element = track.attach();
  element.muted = true;
  document.body.append(element);
  if (track.kind !== Track.Kind.Video) return;
  const watch = setInterval(() => {
    if (element.videoWidth > 0 && element.readyState >= 2) {
      state.firstFrameAt ||= Date.now();
      clearInterval(watch);
    }
  }, 5);
});
state.connectingAt = Date.now();
try {
  await room.connect(url, token);
  if (e2ee) await room.setE2EEEnabled(true);
  if (mode === "hush") allowSharedKey();
  await room.localParticipant.enableCameraAndMicrophone();
  state.connected = true;
} catch (error) {
  state.error = String(error);
}

/**
 * The web app's worker refuses every frame until the page's key plan allows it (guardProtocol.ts):
 * here one plan for the whole call, everyone on the passphrase's key in slot 0 (livekit's default
 * index), and a barrier after livekit's own key messages, which makes the worker allow it once
 * livekit holds that key.
 */
function allowSharedKey() {
  const key = { slot: 0, epoch: 1, generation: 0 };
  const plan = {
    local: self,
    send: key,
    // The key's public check only names the replay windows; any fixed value does here.
    held: [{ epoch: 1, generation: 0, check: "AAAAAAAAAAAAAAAAAAAAAA" }],
    senders: peers.map((participantId) => ({ participantId, keys: [key] })),
  };
  worker.postMessage({ kind: "hush:plan", data: { id: 1, plan } });
  worker.postMessage({ kind: "hush:barrier", data: { id: 1 } });
}
