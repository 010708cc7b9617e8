// What the app reads from the page address and keeps in this browser. The display name is stored
// only here (localStorage) and leaves the device only sealed by the core (inside our announcement,
// or in an ask-to-join call in our knock and under the call's keys). Query parameters exist for tests and demos and change no security property:
//   ?rotate=N   ratchet the media key every N seconds (whole number, at least 1; default: the
//               core's own interval, 30 s)
//   ?video=low  capture 192x108 at 12 fps (the end-to-end suite runs three calls on two cores)
//   ?test=1     adds window.__hushTest.leaveSignallingOnly(): leave the call's signalling (and so
//               its key schedule) while staying connected to the SFU with the keys already held,
//               which is what a malicious leaver colluding with the SFU can do anyway. The suite
//               uses it to prove that such a leaver cannot decrypt media sent after the commit.
//               window.__hushTest.freezeMedia() does the same without leaving: the media keeps
//               its keys and SFU connection whatever the call does (a removed member colluding
//               with the SFU). And window.__hushTest.probeMedia(): our senders' and subscriptions'
//               states and packet counters (ids and numbers only), for the chaos suite's checks.
import type { VideoQuality } from "../media/videoQuality";

const NAME_KEY = "hush.displayName";
const MAX_NAME_LENGTH = 64;

export interface PageOptions {
  /** Ratchet interval in milliseconds, or undefined for the core's default. */
  ratchetIntervalMs: number | undefined;
  video: VideoQuality;
  testHooks: boolean;
}

/** Reads the query string; bad values are ignored, never trusted. */
export function readPageOptions(search: string): PageOptions {
  const params = new URLSearchParams(search);
  const rotate = params.get("rotate");
  let ratchetIntervalMs: number | undefined;
  if (rotate !== null && /^\d{1,5}$/.test(rotate)) {
    ratchetIntervalMs = Math.max(1, Number(rotate)) * 1000;
  }
  return {
    ratchetIntervalMs,
    video: params.get("video") === "low" ? "low" : "normal",
    testHooks: params.get("test") === "1",
  };
}

export function normalizeDisplayName(name: string): string {
  return name.trim().replace(/\s+/g, " ").slice(0, MAX_NAME_LENGTH);
}

export function loadDisplayName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    return "";
  }
}

export function saveDisplayName(name: string) {
  try {
    localStorage.setItem(NAME_KEY, normalizeDisplayName(name));
  } catch {
    // Storage may be disabled (private mode); the name then just isn't remembered.
  }
}
