// Pure: which tile the speaker layout shows large. A screen share wins (people share to be looked
// at), then someone else who speaks now (livekit's active speakers, the SFU's audio levels), and
// otherwise whoever was featured before stays featured, so the big tile does not jump to another
// person at every pause. Our own camera and an intruder (no media) are featured only when nothing
// else is there.
import type { TileModel } from "./tiles";

export type SpeakerCandidate = Pick<TileModel, "key" | "self" | "screen" | "speaking" | "crypto">;

export function featuredTile(
  tiles: readonly SpeakerCandidate[],
  previous: string | undefined,
): string | undefined {
  const before = tiles.find((tile) => tile.key === previous);
  const screens = tiles.filter((tile) => tile.screen);
  if (screens.length > 0) return before?.screen ? before.key : screens[0]?.key;
  const others = tiles.filter((tile) => !tile.self && tile.crypto.kind !== "intruder");
  const speaking = others.filter((tile) => tile.speaking);
  if (speaking.length > 0) {
    return before && speaking.includes(before) ? before.key : speaking[0]?.key;
  }
  if (before && (others.includes(before) || others.length === 0)) return before.key;
  return (others[0] ?? tiles[0])?.key;
}
