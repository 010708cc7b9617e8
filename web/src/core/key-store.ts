// The keys a member of the schedule holds: the current key (the one it sends with), the fresh key
// pending its commit, the highest epoch it has seen, and the group keys installed for decryption.
// Every change to the installed set is reported as an "install" or "retire" action, so the shell's
// copy always matches. The store has no clock: time stays with the schedule (key-schedule.ts),
// which also decides when past epochs go.
import { equalBytes } from "./bytes.js";
import { ratchetGroupKey } from "./identifiers.js";
import type { ScheduleAction } from "./schedule-types.js";

/** Past epochs kept installed for decryption after a switch, however long ago they were current. */
const RETAINED_PAST_EPOCHS = 3;
/**
 * Ratchets installed ahead of the current key (and of a pending fresh key): a member that is this
 * many join ratchets behind the leader still decrypts the leader's frames.
 */
export const LOOKAHEAD_RATCHETS = 2;
/**
 * No past epoch further back than this stays, whatever its grace: with the current key, a pending
 * key one above it and that key's look-ahead, the installed epochs then span at most 15
 * consecutive values, so no two of them share a slot of livekit's 16-slot key ring.
 */
export const MAX_PAST_EPOCHS = 11;

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
  /** When each past epoch's grace ends (set when it stopped being current or ahead of current). */
  private readonly pastUntil = new Map<number, number>();

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
   * Makes `next` the current key, with its look-ahead ratchets, and retires what is no longer
   * needed. Every epoch that becomes past here stays installed until `graceUntil` (for frames of
   * members that switch later than we do: a burst of join ratchets can move us several epochs
   * while a slower member still sends with an older one), the three before `next` however long
   * ago. Returns true when it also settled the pending key (its epoch is not above `next`).
   */
  switchTo(next: HeldKey, graceUntil: number): boolean {
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
    for (const epoch of this.installed.keys()) {
      if (epoch < next.epoch && !this.pastUntil.has(epoch)) this.pastUntil.set(epoch, graceUntil);
    }
    this.settleAhead();
    this.retirePast(undefined);
    return settledPending;
  }

  /**
   * Retires the past epochs no longer kept: beyond MAX_PAST_EPOCHS back always, and, when `now` is
   * given, those outside the three before the current one whose grace has ended.
   */
  retirePast(now: number | undefined): void {
    const current = this.current;
    if (!current) return;
    for (const epoch of [...this.installed.keys()]) {
      if (epoch >= current.epoch) continue;
      const tooOld = epoch < current.epoch - MAX_PAST_EPOCHS;
      const recent = epoch >= current.epoch - RETAINED_PAST_EPOCHS;
      const graceOver = now !== undefined && (this.pastUntil.get(epoch) ?? 0) <= now;
      if (tooOld || (!recent && graceOver)) this.retire(epoch);
    }
  }

  /** When retirePast(now) would next retire an epoch whose grace ends, if ever. */
  nextPastExpiry(): number | undefined {
    const current = this.current;
    if (!current) return undefined;
    let next: number | undefined;
    for (const [epoch, until] of this.pastUntil) {
      if (epoch >= current.epoch - RETAINED_PAST_EPOCHS) continue;
      if (next === undefined || until < next) next = until;
    }
    return next;
  }

  install(epoch: number, groupKey: Uint8Array): void {
    const held = this.installed.get(epoch);
    if (held && equalBytes(held, groupKey)) return;
    this.installed.set(epoch, groupKey);
    this.emit({ type: "install", epoch, groupKey });
  }

  retire(epoch: number): void {
    this.pastUntil.delete(epoch);
    if (this.installed.delete(epoch)) this.emit({ type: "retire", epoch });
  }

  /** Retires every installed epoch below `epoch` (a fresh chain's grace has passed). */
  retireBelow(epoch: number): void {
    for (const held of [...this.installed.keys()]) if (held < epoch) this.retire(held);
  }

  /** A fresh key received or made, waiting for its commit: installed with its own look-ahead. */
  setPending(pending: PendingKey): void {
    this.pending = pending;
    this.see(pending.epoch);
    this.settleAhead();
  }

  dropPending(): void {
    if (!this.pending) return;
    this.pending = undefined;
    this.settleAhead();
  }

  /**
   * The key `epoch` above the current one should carry: a pending fresh key or one of its
   * look-ahead ratchets, else one of the current key's (the leader may ratchet at once, and a
   * member that reads the ratchet's frames before its broadcast must already decrypt them).
   */
  private aheadKey(epoch: number): Uint8Array | undefined {
    const ratchetFrom = (base: HeldKey): Uint8Array | undefined => {
      const steps = epoch - base.epoch;
      if (steps < 0 || steps > LOOKAHEAD_RATCHETS) return undefined;
      let key = base.groupKey;
      for (let step = 0; step < steps; step++) key = ratchetGroupKey(key);
      return key;
    };
    const pending = this.pending;
    if (pending && epoch >= pending.epoch) return ratchetFrom(pending);
    return this.current ? ratchetFrom(this.current) : undefined;
  }

  /** Installs exactly the keys above the current one that aheadKey names, and retires the rest. */
  private settleAhead(): void {
    const floor = this.current?.epoch ?? 0;
    for (const epoch of [...this.installed.keys()]) {
      if (epoch > floor && !this.aheadKey(epoch)) this.retire(epoch);
    }
    const top = Math.max(floor, this.pending?.epoch ?? 0) + LOOKAHEAD_RATCHETS;
    for (let epoch = floor + 1; epoch <= top; epoch++) {
      const key = this.aheadKey(epoch);
      if (key) this.install(epoch, key);
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
