// The "transform only" worker of the media CPU benchmark: it stands in for livekit's E2EE worker and
// passes every encoded frame through one TransformStream unchanged, with no cipher and no livekit
// code. The page runs exactly as with E2EE on otherwise (livekit's encoded transform on every track,
// frames handed to this worker and back), so the CPU it costs over E2EE off is the browser's
// encoded-transform plumbing, which any in-browser frame encryption pays, and the rest of E2EE on's
// cost is livekit's per-frame code and its WebCrypto calls.
function passThrough(readable, writable) {
  readable
    .pipeThrough(
      new TransformStream({
        transform(frame, controller) {
          controller.enqueue(frame);
        },
      }),
    )
    .pipeTo(writable)
    .catch(() => {});
}

// The few messages livekit's E2EE manager waits for an answer to: init, and enable (echoed).
self.onmessage = (event) => {
  const { kind, data } = event.data;
  if (kind === "init") postMessage({ kind: "initAck", data: { enabled: true } });
  else if (kind === "enable") postMessage(event.data);
  else if (kind === "encode" || kind === "decode") {
    passThrough(data.readableStream, data.writableStream);
  }
};

// Where the browser hands transforms to the worker itself (RTCRtpScriptTransform).
self.onrtctransform = (event) =>
  passThrough(event.transformer.readable, event.transformer.writable);
