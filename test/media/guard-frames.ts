// Frames for tests of the frame guard alone (web/src/media/frameGuard.ts), without livekit: bytes
// laid out as livekit's encrypted frames are (IV with ssrc, timestamp and counter, then the
// trailer with the key slot), and a stand-in for livekit's decryption between the guard's two steps.
import type { FrameGuard } from "../../web/src/media/frameGuard";

/** The sender id the guard tests use unless they name another. */
export const MEMBER_A = "member-a";

/** An encrypted-looking frame: 100 payload bytes, then IV (ssrc, timestamp, counter) and trailer. */
export function frame(slot: number, timestamp: number, ssrc = 7, counter = 0) {
  const data = new Uint8Array(100 + 30);
  const view = new DataView(data.buffer);
  view.setUint32(data.length - 14, ssrc);
  view.setUint32(data.length - 10, timestamp >>> 0);
  view.setUint32(data.length - 6, (timestamp - counter) >>> 0);
  data[data.length - 2] = 12;
  data[data.length - 1] = slot;
  return { data: data.buffer };
}

/** The frame through the guard with livekit decrypting it: true when it would be rendered. */
export function receive(guard: FrameGuard, f: { data: ArrayBuffer }, participantId = MEMBER_A) {
  if (!guard.beforeDecrypt(participantId, f)) return false;
  f.data = new ArrayBuffer(f.data.byteLength - 30);
  return guard.afterDecrypt(f);
}
