// Which of one sender incarnation's chat messages a receiver has taken (docs/chat.md, Receiving):
// a message is known by its counter, and a copy of one taken is a replay. A message verifies only
// under the signing key of the incarnation that sent it, so a window per incarnation is enough: a
// recording from an earlier incarnation (a reload, a reconnect) fails its signature first. The
// window keeps the newest CHAT_WINDOW counters; anything older counts as taken, so memory stays
// bounded however long the call runs and a replay of a very old message is still refused.
/** Counters remembered per incarnation: a message this far behind its sender's newest is refused. */
export const CHAT_WINDOW = 4_096;

/** Counters a sender skipped, as far as we know yet: every one strictly between the two. */
export interface ChatGap {
  readonly after: number;
  readonly before: number;
}

export class ChatWindow {
  private highest = 0;
  private readonly taken = new Set<number>();
  /** The counter of the newest hand message applied: an older one arriving late changes nothing. */
  handCounter = 0;
  /** The counter of the newest name message taken: a reordered older one does not win. */
  nameCounter = 0;
  /**
   * Counters skipped and not yet reported, one range per sender however many gaps it makes (so a
   * member cannot use up what reports another's), with the message that revealed the last of them.
   */
  pendingGap: { gap: ChatGap; lamport: number } | undefined;

  has(counter: number): boolean {
    return counter + CHAT_WINDOW <= this.highest || this.taken.has(counter);
  }

  /**
   * Takes `counter`. Returns the counters it shows were skipped (between the newest taken before
   * and it), or undefined: none, or this is the first message we have of the incarnation (what
   * came before it was sent before we could read it).
   */
  add(counter: number): ChatGap | undefined {
    const previous = this.highest;
    this.taken.add(counter);
    if (counter <= this.highest) return undefined;
    this.highest = counter;
    this.prune();
    return previous === 0 || counter === previous + 1
      ? undefined
      : { after: previous, before: counter };
  }

  /** How many counters strictly between `gap.after` and `gap.before` were never taken. */
  untaken(gap: ChatGap): number {
    let taken = 0;
    for (const counter of this.taken) if (counter > gap.after && counter < gap.before) taken += 1;
    return gap.before - gap.after - 1 - taken;
  }

  private prune(): void {
    if (this.taken.size <= 2 * CHAT_WINDOW) return;
    for (const old of this.taken) if (old + CHAT_WINDOW <= this.highest) this.taken.delete(old);
  }
}

/** A first counter for this session: a reloaded page (same participant id) does not reuse ids. */
export function firstChatCounter(random: (length: number) => Uint8Array): number {
  const bytes = random(4);
  const value = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  // Below 2^30, so 3 * 2^30 messages fit before the u32 runs out.
  return (value >>> 2) + 1;
}
