// The E2EE worker: livekit-client's frame cryptor with two rules of ours on top, because the SFU
// that drives livekit's signalling is not trusted (DESIGN §4, Fail closed):
// - livekit lets the SFU name a "server injected frame" trailer (SIF) and then passes frames ending
//   with it through undecrypted; the trailer is never installed, so no frame skips decryption.
// - livekit turns decryption off for every track of a participant as soon as the SFU reports one
//   of its tracks as unencrypted; here decryption is always on, so a frame that does not decrypt
//   with a key from our schedule is dropped, whatever the SFU says.
import "livekit-client/e2ee-worker";

const livekitOnMessage = self.onmessage;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

self.onmessage = (event: MessageEvent) => {
  const data: unknown = event.data;
  switch (isRecord(data) ? data.kind : undefined) {
    case "setSifTrailer":
      return;
    case "enable": {
      const fields = isRecord(data) && isRecord(data.data) ? data.data : {};
      const forced = { kind: "enable", data: { ...fields, enabled: true } };
      livekitOnMessage?.call(self, new MessageEvent("message", { data: forced }));
      return;
    }
    default:
      livekitOnMessage?.call(self, event);
  }
};
