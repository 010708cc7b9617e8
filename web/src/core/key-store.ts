// The keys a member of the schedule holds: the current key (the one it sends with), the fresh key
// pending its commit, the highest epoch it has seen, and the group keys installed for decryption.
// Every change to the installed set is reported as an "install" or "retire" action, so the shell's
// copy always matches. The store has no clock: time stays with the schedule (key-schedule.ts),
// which also decides when past epochs go.
import { equalBytes } from "./bytes.js";
import { ratchetGroupKey } from "./identifiers.js";
import type { ScheduleAction } from "./schedule-types.js";

/** Past epochs kept installed for decryption after a switch. */
const RETAINED_PAST_EPOCHS = 3;

export interface HeldKey {
  readonly epoch: number;
  readonly groupKey: Uint8Array;
  /** First epoch of this key's ratchet chain. */
  readonly chainStart: number;
  /** Join seq of the leader the key came from (conflict resolution). */
  readonly sourceSeq: number;
  /**
   * Join seqs of everyone who may hold this key's chain: shared by every key of the chain and grown
   * by each join seen while the chain is in use (a joiner gets the chain's next ratchet).
   */
  readonly holders: Set<number>;
}

export interface PendingKey extends HeldKey {
  readonly sourceId: string;
}

export class KeyStore {
  current: HeldKey | undefined;
  pending: PendingKey | undefined;
  private highestSeen = 0;
  private readonly installed = new Map<number, Uint8Array>();

  /** `emit` receives the install and retire actions, in the order they happen. */
  constructor(private readonly emit: (action: ScheduleAction) => void) {}

  /** Raises the highest epoch seen (a key, a claim, or a request we answered). */
  see(epoch: number): void {
    this.highestSeen = Math.max(this.highestSeen, epoch);
  }

  maxKnownEpoch(): number {
    return Math.max(this.highestSeen, this.current?.epoch ?? 0, this.pending?.epoch ?? 0);
  }

  /** Epochs installed for decryption, ascending. */
  installedEpochs(): number[] {
    return [...this.installed.keys()].sort((a, b) => a - b);
  }

  installedKey(epoch: number): Uint8Array | undefined {
    return this.installed.get(epoch);
  }

  /**
   * Makes `next` the current key, with its look-ahead ratchet, and retires what is no longer
   * needed. Returns true when it also settled the pending key (its epoch is not above `next`).
   */
  switchTo(next: HeldKey): boolean {
    this.current = {
      epoch: next.epoch,
      groupKey: next.groupKey,
      chainStart: next.chainStart,
      sourceSeq: next.sourceSeq,
      holders: next.holders,
    };
    this.see(next.epoch);
    let settledPending = false;
    if (this.pending && this.pending.epoch <= next.epoch) {
      this.pending = undefined;
      settledPending = true;
    }
    this.install(next.epoch, next.groupKey);
    // Look-ahead: the next ratchet is ready for decryption before anyone sends with it.
    if (this.pending?.epoch !== next.epoch + 1) {
      this.install(next.epoch + 1, ratchetGroupKey(next.groupKey));
    }
    // Keep the three epochs before this one for frames still in flight from members that switch a
    // little later (a commit can be followed at once by a join ratchet), and nothing older.
    for (const epoch of [...this.installed.keys()]) {
      const recent = epoch < next.epoch && epoch >= next.epoch - RETAINED_PAST_EPOCHS;
      const kept = recent || epoch === next.epoch || epoch === next.epoch + 1;
      const pendingEpoch = this.pending?.epoch;
      const forPending =
        pendingEpoch !== undefined && (epoch === pendingEpoch || epoch === pendingEpoch + 1);
      if (!kept && !forPending) this.retire(epoch);
    }
    return settledPending;
  }

  install(epoch: number, groupKey: Uint8Array): void {
    const held = this.installed.get(epoch);
    if (held && equalBytes(held, groupKey)) return;
    this.installed.set(epoch, groupKey);
    this.emit({ type: "install", epoch, groupKey });
  }

  retire(epoch: number): void {
    if (this.installed.delete(epoch)) this.emit({ type: "retire", epoch });
  }

  /** Retires every installed epoch below `epoch` (a fresh chain's grace has passed). */
  retireBelow(epoch: number): void {
    for (const held of [...this.installed.keys()]) if (held < epoch) this.retire(held);
  }

  dropPending(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    const current = this.current;
    // The pending key's own look-ahead goes with it.
    if (this.installed.has(pending.epoch + 1) && pending.epoch + 1 !== current?.epoch) {
      this.retire(pending.epoch + 1);
    }
    // The slot goes back to the look-ahead ratchet of the current key, or is emptied.
    if (current && pending.epoch === current.epoch + 1) {
      this.install(pending.epoch, ratchetGroupKey(current.groupKey));
    } else if (pending.epoch !== current?.epoch) {
      this.retire(pending.epoch);
    }
  }

  /** Retires every installed key and forgets the rest (a new membership starts from nothing). */
  clear(): void {
    for (const epoch of [...this.installed.keys()]) this.retire(epoch);
    this.current = undefined;
    this.pending = undefined;
    this.highestSeen = 0;
  }
}
