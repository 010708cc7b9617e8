// The keys a member of the schedule holds: the current key (the one it sends with), the fresh key
// pending its commit, the highest epoch it has seen, and the group keys installed for decryption.
// Every change to the installed set is reported as an "install" or "retire" action, so the shell's
// copy always matches. The store has no clock: time stays with the schedule (key-schedule.ts),
// which also decides when past epochs go.
import { equalBytes } from "./bytes.js";
import { keyCheckOf, ratchetGroupKey } from "./identifiers.js";
import type { ScheduleAction } from "./schedule-types.js";

/**
 * livekit-client's default keyring size; key index of epoch e is e mod keyringSize
 * (docs/media-keys.md).
 */
export const KEYRING_SIZE = 16;

export function keyIndexOf(epoch: number, keyringSize: number = KEYRING_SIZE): number {
  return epoch % keyringSize;
}

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
 * consecutive values. A past epoch KEYRING_SIZE or more below the highest installed one goes too
 * (a pending key further above), so no past epoch shares a slot of livekit's ring with another.
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
  /** The holders of each installed epoch's chain (the Set its key was installed with). */
  private readonly holdersOf = new Map<number, ReadonlySet<number>>();
  /**
   * Installed epochs withheld from decryption: a holder of their chain has departed and its
   * lock-out deadline has passed (withhold). Reported as retired; kept here so that a key the
   * leader confirms again without that holder comes back.
   */
  private readonly withheld = new Set<number>();
  /** When each past epoch's grace ends (set when it stopped being current or ahead of current). */
  private readonly pastUntil = new Map<number, number>();
  /**
   * The key check of every key each recent epoch has carried (not the keys: a retired key is not
   * kept). An epoch never gets back a key it lost (a look-ahead ratchet a fresh key replaced, a
   * superseded fresh key): the media layer would see it as a new key with fresh replay windows,
   * and the SFU could replay the frames it recorded under it.
   */
  private readonly carried = new Map<number, Uint8Array[]>();

  /** `emit` receives the install and retire actions, in the order they happen. */
  constructor(private readonly emit: (action: ScheduleAction) => void) {}

  /** Raises the highest epoch seen (a key, a claim, or a request we answered). */
  see(epoch: number): void {
    this.highestSeen = Math.max(this.highestSeen, epoch);
  }

  maxKnownEpoch(): number {
    return Math.max(this.highestSeen, this.current?.epoch ?? 0, this.pending?.epoch ?? 0);
  }

  /** Epochs installed for decryption, ascending (withheld ones not included). */
  installedEpochs(): number[] {
    return [...this.installed.keys()].filter((e) => !this.withheld.has(e)).sort((a, b) => a - b);
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
    this.install(next.epoch, next.groupKey, next.holders);
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
    const top = Math.max(...this.installed.keys());
    for (const epoch of [...this.installed.keys()]) {
      if (epoch >= current.epoch) continue;
      const tooOld = epoch < current.epoch - MAX_PAST_EPOCHS || epoch <= top - KEYRING_SIZE;
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

  /** Installs `groupKey` for `epoch`, unless the epoch carried it before and lost it. */
  install(epoch: number, groupKey: Uint8Array, holders: ReadonlySet<number>): void {
    const held = this.installed.get(epoch);
    if (held && equalBytes(held, groupKey)) {
      this.holdersOf.set(epoch, holders);
      return;
    }
    const carried = this.carried.get(epoch) ?? [];
    const check = keyCheckOf(groupKey);
    if (carried.some((seen) => equalBytes(seen, check))) {
      // Lost once: the epoch goes empty rather than back to it (nothing sends with it any more).
      this.retire(epoch);
      return;
    }
    carried.push(check);
    this.carried.set(epoch, carried);
    this.installed.set(epoch, groupKey);
    this.holdersOf.set(epoch, holders);
    this.withheld.delete(epoch);
    this.emit({ type: "install", epoch, groupKey });
  }

  retire(epoch: number): void {
    this.pastUntil.delete(epoch);
    this.holdersOf.delete(epoch);
    const wasWithheld = this.withheld.delete(epoch);
    if (this.installed.delete(epoch) && !wasWithheld) this.emit({ type: "retire", epoch });
  }

  /**
   * The lock-out on the receiving side (docs/key-schedule.md, Lock-out): an epoch whose chain a
   * departed holder may know is withheld from decryption once that holder's deadline has passed
   * (`lockedOut` says so for a holder set), whoever's frames arrive under it, so a leaver, with
   * the SFU's help, gets no frame accepted in another member's name. It stays installed here: when
   * the leader confirms the key again without that holder (a holder this client counted wrongly),
   * it is reported installed again; the media guard kept its replay floors meanwhile. Every epoch
   * below `lockedBelow` is withheld too (the leader moved past them and we could not follow).
   */
  withhold(lockedOut: (holders: ReadonlySet<number>) => boolean, lockedBelow = 0): void {
    const verdicts = new Map<ReadonlySet<number>, boolean>();
    for (const [epoch, holders] of this.holdersOf) {
      let locked = verdicts.get(holders);
      if (locked === undefined) {
        locked = lockedOut(holders);
        verdicts.set(holders, locked);
      }
      locked ||= epoch < lockedBelow;
      const groupKey = this.installed.get(epoch);
      if (!groupKey || locked === this.withheld.has(epoch)) continue;
      if (locked) {
        this.withheld.add(epoch);
        this.emit({ type: "retire", epoch });
      } else {
        this.withheld.delete(epoch);
        this.emit({ type: "install", epoch, groupKey });
      }
    }
  }

  /** The distinct holder sets of the epochs not withheld (their deadlines are the next wakes). */
  receivingHolders(): Set<ReadonlySet<number>> {
    const sets = new Set<ReadonlySet<number>>();
    for (const [epoch, holders] of this.holdersOf) if (!this.withheld.has(epoch)) sets.add(holders);
    return sets;
  }

  /**
   * The leader answered our current key again with its holder list (`settled`). The leader wrote
   * it while that key was its own current one, so it is complete for the current epoch and the
   * chain's epochs below: a joiner is given the chain's next ratchet, never the key in use. Those
   * epochs take it, and a holder counted wrongly no longer withholds them. The answer may be stale
   * (the server can hold it back), so the epochs above, and the ratchets still to come, keep the
   * chain's own set untouched: a joiner the leader keyed after writing the list may hold them,
   * even one whose join the server hid from us.
   */
  reholdCurrent(settled: Set<number>, previous?: ReadonlySet<number>): void {
    const current = this.current;
    if (!current) return;
    for (const [epoch, held] of this.holdersOf) {
      const ofChain = held === current.holders || (previous !== undefined && held === previous);
      if (ofChain && epoch <= current.epoch) this.holdersOf.set(epoch, settled);
    }
  }

  /** Who may hold the current epoch's key: its chain's holders, or the leader's answer for it. */
  currentHolders(): ReadonlySet<number> | undefined {
    const current = this.current;
    return current && (this.holdersOf.get(current.epoch) ?? current.holders);
  }

  /** Retires every installed epoch below `epoch` (a fresh chain's grace has passed). */
  retireBelow(epoch: number): void {
    for (const held of [...this.installed.keys()]) if (held < epoch) this.retire(held);
  }

  /**
   * The leader's verified broadcast gives `check` as the key check of `epoch`, and the key we hold
   * there differs (a look-ahead ratchet of the old chain whose fresh key has not reached us, or a
   * superseded fresh key). Retires it and every key we derived through it: the others send under
   * the real key from the commit, and frames under a wrong key fail to decrypt where frames under
   * a missing one are refused as not held and wait; the old chain's ratchets are also keys a
   * leaver can derive. The epochs stay empty until their real key arrives (install's rule keeps
   * the wrong ones from coming back).
   */
  refute(epoch: number, check: Uint8Array): void {
    const held = this.installed.get(epoch);
    if (!held || equalBytes(keyCheckOf(held), check)) return;
    const refutedPending = this.pending && this.aheadBase(epoch)?.base === this.pending;
    for (const installed of [...this.installed.keys()]) {
      const ahead = installed >= epoch ? this.aheadBase(installed) : undefined;
      if (ahead && ahead.base.epoch <= epoch) this.retire(installed);
    }
    // A pending key the leader refuted is not what it commits: were its own commit to arrive
    // later (a split view of the leader), we would switch to an epoch we can no longer install.
    if (refutedPending) this.pending = undefined;
  }

  /** A fresh key received or made, waiting for its commit: installed with its own look-ahead. */
  setPending(pending: PendingKey): void {
    this.pending = pending;
    this.see(pending.epoch);
    this.settleAhead();
    this.retirePast(undefined);
  }

  dropPending(): void {
    if (!this.pending) return;
    this.pending = undefined;
    this.settleAhead();
  }

  /**
   * The key an epoch above the current one derives from, and in how many ratchet steps: a pending
   * fresh key (or its look-ahead), else the current key's look-ahead (the leader may ratchet at
   * once, and a member that reads the ratchet's frames before its broadcast must decrypt them).
   */
  private aheadBase(epoch: number): { base: HeldKey; steps: number } | undefined {
    const pending = this.pending;
    const base = pending && epoch >= pending.epoch ? pending : this.current;
    if (!base) return undefined;
    const steps = epoch - base.epoch;
    return steps >= 0 && steps <= LOOKAHEAD_RATCHETS ? { base, steps } : undefined;
  }

  private aheadKey(epoch: number): { groupKey: Uint8Array; holders: Set<number> } | undefined {
    const ahead = this.aheadBase(epoch);
    if (!ahead) return undefined;
    let groupKey = ahead.base.groupKey;
    for (let step = 0; step < ahead.steps; step++) groupKey = ratchetGroupKey(groupKey);
    return { groupKey, holders: ahead.base.holders };
  }

  /** Installs exactly the keys above the current one that aheadKey names, and retires the rest. */
  private settleAhead(): void {
    const floor = this.current?.epoch ?? 0;
    for (const epoch of [...this.installed.keys()]) {
      if (epoch > floor && !this.aheadBase(epoch)) this.retire(epoch);
    }
    // Only the few epochs just above the current and the pending key: a first fresh key may sit
    // at any epoch up to 2^31 - 1, far above nothing.
    const candidates = new Set<number>();
    for (let step = 1; step <= LOOKAHEAD_RATCHETS; step++) candidates.add(floor + step);
    const pending = this.pending;
    if (pending) {
      for (let step = 0; step <= LOOKAHEAD_RATCHETS; step++) candidates.add(pending.epoch + step);
    }
    for (const epoch of [...candidates].sort((a, b) => a - b)) {
      const ahead = this.aheadKey(epoch);
      if (ahead) this.install(epoch, ahead.groupKey, ahead.holders);
    }
    this.forgetCarried();
  }

  /** What epochs far below the current one carried: they are never installed again anyway. */
  private forgetCarried(): void {
    const floor = (this.current?.epoch ?? 0) - KEYRING_SIZE;
    for (const epoch of this.carried.keys()) if (epoch < floor) this.carried.delete(epoch);
  }

  /** Retires every installed key and forgets the rest (a new membership starts from nothing). */
  clear(): void {
    for (const epoch of [...this.installed.keys()]) this.retire(epoch);
    this.carried.clear();
    this.current = undefined;
    this.pending = undefined;
    this.highestSeen = 0;
  }
}
