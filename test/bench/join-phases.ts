// Where a join's time goes in the media run, read from the pages' own logs (the test view's
// connection, key and media logs; each line is "<epoch ms> <text>"): the moments after the click
// on "Join call" that the joiner passes, and, per direction, when the watcher's livekit subscribed
// to the sender's camera. Pure: it only reads the logs the pages already keep.
import type { HushTestView } from "../../web/src/app/testHooks";

export const JOIN_PHASES = [
  "signallingJoined",
  "firstKey",
  "sfuConnected",
  "cameraPublished",
  "joinerSubscribed",
  "joinerFirstFrame",
  "memberSubscribed",
  "memberFirstFrame",
] as const;
export type JoinPhase = (typeof JOIN_PHASES)[number];

type Logs = Pick<HushTestView, "connectionLog" | "keyLog" | "mediaLog">;

/** Milliseconds from `since` to the first line at or after it whose text passes `match`. */
export function firstAfter(
  log: readonly string[],
  since: number,
  match: (text: string) => boolean,
): number | undefined {
  for (const line of log) {
    const space = line.indexOf(" ");
    const at = Number(line.slice(0, space));
    if (space > 0 && Number.isFinite(at) && at >= since && match(line.slice(space + 1))) {
      return at - since;
    }
  }
  return undefined;
}

/**
 * The joiner's own moments: its signalling joined, it holds the call's key (its first send key;
 * a lone creator makes its own), its livekit connected and the SFU took its camera.
 */
const JOINER_MOMENTS: [JoinPhase, keyof Logs, (text: string) => boolean][] = [
  ["signallingJoined", "connectionLog", (t) => t === "joined"],
  ["firstKey", "keyLog", (t) => t.startsWith("send ")],
  ["sfuConnected", "mediaLog", (t) => t === "connected"],
  ["cameraPublished", "mediaLog", (t) => t === "published camera"],
];

export function joinerMoments(joiner: Logs, clickedAt: number): Partial<Record<JoinPhase, number>> {
  const moments: Partial<Record<JoinPhase, number>> = {};
  for (const [phase, log, match] of JOINER_MOMENTS) {
    const ms = firstAfter(joiner[log], clickedAt, match);
    if (ms !== undefined) moments[phase] = ms;
  }
  return moments;
}

/** When the watcher's livekit subscribed to the sender's camera, from the click. */
export function subscribedAt(
  watcher: Logs,
  senderId: string,
  clickedAt: number,
): number | undefined {
  return firstAfter(watcher.mediaLog, clickedAt, (t) => t === `video ${senderId}`);
}
