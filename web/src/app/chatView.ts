// Pure rules for what the call screen shows of the chat (the core decides what the chat is):
// which lines are unread, and which reactions are still in the air over their sender's tile.
import type { ChatEntry, ReactionEvent } from "../core";

/** How long a reaction floats over its sender's tile. */
export const REACTION_SHOWN_MS = 4_000;
/** At most this many reactions in the air at once (older ones land first). */
export const REACTIONS_SHOWN_MAX = 24;

export interface FloatingReaction extends ReactionEvent {
  /** Unique within the page, for the renderer's keys. */
  readonly key: number;
}

/** Lines others wrote (or that could not be decrypted) that the reader has not seen yet. */
export function unreadCount(entries: readonly ChatEntry[], read: ReadonlySet<string>): number {
  return entries.filter((entry) => !entry.self && !read.has(entry.id)).length;
}

/** The reactions still in the air at `now`, newest last, at most REACTIONS_SHOWN_MAX. */
export function floatingAt(
  reactions: readonly FloatingReaction[],
  now: number,
): FloatingReaction[] {
  return reactions
    .filter((reaction) => now - reaction.at < REACTION_SHOWN_MS)
    .slice(-REACTIONS_SHOWN_MAX);
}
