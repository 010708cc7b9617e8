// docs/key-schedule.md as a pure state machine: events in, actions out; the clock arrives with each
// event and randomness is injected. One key leader (lowest verified join seq) makes every key;
// members derive ratchets themselves, install fresh keys ahead of the commit barrier, and ask when
// they fall behind. The message rules and their reasons are written up in docs/key-schedule.md.
import { assertNever } from "../../../protocol/guards.js";
import type { BroadcastBody } from "./broadcast.js";
import { equalBytes } from "./bytes.js";
import { keyCheckOf, ratchetGroupKey } from "./identifiers.js";
import type { KeyMessageBody } from "./key-messages.js";
import { type HeldKey, KeyStore } from "./key-store.js";
import type { Random } from "./random.js";
import {
  FIRST_EPOCH_MAX,
  MAX_EPOCH,
  type RosterMember,
  type RotationReason,
  type ScheduleAction,
  type ScheduleConfig,
  type ScheduleEvent,
} from "./schedule-types.js";

/**
 * Sending stops this long before the lock-out deadline, receiving at it. Every member counts the
 * deadline from when it heard the leave, so a member nearer the room withholds the old chain up to
 * one delivery spread before one further away stops sending with it; when the re-key is late (each
 * leave heard while a fresh key is in flight cancels it and starts another), that gap was a glitch.
 */
const SEND_LEAD_MS = 500;

/**
 * The least time between a switch of the leader's own and the ratchet two after it: members keep
 * two ratchets ahead installed, so a member whose copy of the earlier one is still on its way
 * (a one-way delay up to this long) still holds the epoch the leader sends with.
 */
const RATCHET_PAIR_MS = 600;

/** The leader's side of a fresh key in flight: who must acknowledge before the commit. */
interface FreshRotation {
  readonly recipients: ReadonlySet<string>;
  readonly awaiting: Set<string>;
  readonly deadline: number;
}

interface Behind {
  readonly need: number;
  nextAt: number;
  attempts: number;
}

export class KeySchedule {
  private self: RosterMember | undefined;
  /** Verified members (proven live), by id → join seq. */
  private readonly roster = new Map<string, number>();
  /** Announced but not yet proven live: no keys for them, but they hold back leadership. */
  private readonly pendingMembers = new Map<string, number>();
  /**
   * leaderId() as of the last change to self, roster or pendingMembers (undefined: not known):
   * every message asks for it, and finding the lowest seq walks the whole roster.
   */
  private leaderCache: { readonly id: string | undefined } | undefined;
  /** Join seq of everyone seen leaving in this membership → when our lock-out deadline passes. */
  private readonly departed = new Map<number, number>();
  /**
   * Seqs whose leave the socket delivered while it waited behind a signature check, until that
   * member-left's turn: a join queued before it does not undo their deadline.
   */
  private readonly heardLeaving = new Set<number>();
  /** Seqs the room said left: final within a room life (a notice that one joined is a replay). */
  private readonly leftSeqs = new Set<number>();
  /** Announced, did not prove liveness in time, still in the room: present, but not leading. */
  private readonly expiredMembers = new Map<string, number>();
  /**
   * Seqs announced to us after we joined, and leavers we never saw join: the leader may have
   * handed any of them a ratchet of a chain whose key reaches us only later (switchToDelivered),
   * and a leave does not take one out.
   * Not cleared by a fresh key either: a fresh key the server held back is as old as it likes.
   */
  private readonly seenJoining = new Set<number>();
  /**
   * Seqs in our welcome (members, and those still proving themselves, whose member-joined comes
   * later): not counted in seenJoining. An honest leader hands them its chain before our key or
   * never (a leave of one of them makes it re-key), and counting one that left while our first key
   * was on the way would cost us the next ratchet whenever a call's leader drops.
   */
  private readonly welcomed = new Set<number>();
  /**
   * The leader's verified broadcast named an epoch above ours that we could not follow (a fresh
   * key or a ratchet we lack): when our current chain stops counting, unless we catch up first.
   */
  private overtaken:
    | { epoch: number; at: number; passed: boolean; leader: string | undefined }
    | undefined;
  /** The epoch last handed to the shell with "switch" (0: send nothing). */
  private sent = 0;
  /** The current and pending keys and what is installed for decryption (key-store.ts). */
  private readonly keys = new KeyStore((action) => this.out.push(action));
  private behind: Behind | undefined;
  /**
   * After switching to another chain (a fresh key, or a ratchet of one whose commit we missed),
   * the epochs below its start (which a leaver knows) go after a short grace: one deadline per
   * switch, so a later fresh key never postpones an earlier one's.
   */
  private retireBefore: { epoch: number; at: number }[] = [];
  // Leader state.
  private rotation: FreshRotation | undefined;
  private readonly joiners = new Set<string>();
  private needFresh: RotationReason | undefined;
  /** When the scheduled rotation runs; joins and leaves arriving before then share it. */
  private coalesceAt: number | undefined;
  /** When the last rotation started: the next join/leave rotation waits until coalesceMs after it. */
  private lastRotationAt: number | undefined;
  /**
   * When we last switched to a key of our own making (a ratchet, a fresh key's commit), the
   * newest last: a ratchet lands at most LOOKAHEAD_RATCHETS above a member that has not yet read
   * the switch before the previous one, so the next ratchet waits until RATCHET_PAIR_MS after it.
   */
  private ownSwitches: number[] = [];
  private nextPeriodicAt: number | undefined;
  private rotationsSinceFresh = 0;
  /**
   * Lowest seq we handed the current chain by a key that is not fresh (a `current` answer): that
   * member counts onward every seq announced to it since it joined (switchToDelivered), so one of
   * those that has left and that the chain never reached would withhold our next ratchet there.
   */
  private guessedFrom: number | undefined;
  /**
   * First epoch each member may be given: never a key in use before it joined
   * (docs/key-schedule.md, Who may make keys).
   */
  private readonly eligibleFrom = new Map<string, number>();
  private out: ScheduleAction[] = [];
  /** The time of the event being handled. */
  private now = 0;

  constructor(
    private readonly config: ScheduleConfig,
    private readonly random: Random,
  ) {}

  handle(event: ScheduleEvent, now: number): ScheduleAction[] {
    this.out = [];
    this.now = now;
    switch (event.type) {
      case "joined":
        this.onJoined(event.self, event.members, event.pending, now);
        break;
      case "member-pending":
        this.onMemberPending(event.member);
        break;
      case "member-joined":
        this.onMemberJoined(event.member, now);
        break;
      case "member-expired":
        this.onMemberExpired(event.participantId, now);
        break;
      case "member-left": {
        // Never our own seq: we know we are here (the session handles our own leave).
        if (this.self?.seq === event.seq) break;
        this.leftSeqs.add(event.seq);
        this.heardLeaving.delete(event.seq);
        this.depart(event.seq, now);
        // The incarnation that left is the seq: a notice for another seq of the same id changes
        // nothing, and one that names a seq we hold under another id (a server's lie, or two
        // announcements on one seq) removes whoever holds it. Ignoring either could hide a real
        // leave; the server could remove that member with a well-formed notice anyway.
        const leavers = this.idsWithSeq(event.seq);
        const verified = [...this.roster.values()].includes(event.seq);
        if (!verified) {
          // A leaver we never verified may still hold our chain: the server can hide a join from
          // us while the leader hands the joiner a key. Count it as a holder, so the lock-out
          // applies to us too; the leader re-keys for such a leave as well. It may hold a ratchet
          // of a chain whose key reaches us only later, too (switchToDelivered).
          this.countAsPossibleHolder(event.seq);
          if (!this.welcomed.has(event.seq)) this.seenJoining.add(event.seq);
          if (this.isLeader() && this.keys.current) this.requestRotation("leave", now);
        }
        for (const id of leavers) this.onMemberLeft(id, now);
        break;
      }
      case "departure-heard":
        // The same guard the member-left behind it gets: never our own leave.
        if (
          this.self &&
          event.participantId !== this.self.participantId &&
          event.seq !== this.self.seq
        ) {
          this.depart(event.seq, now);
          this.heardLeaving.add(event.seq);
          // Until its turn comes it may hold what we hold, or a key the queue hands us: as for a
          // leaver we never verified, count it as a holder.
          this.countAsPossibleHolder(event.seq);
        }
        break;
      case "key-message":
        this.onKeyMessage(event.from, event.message, now);
        break;
      case "broadcast":
        this.onBroadcast(event.from, event.body, now);
        break;
      case "tick":
        break;
      case "decrypt-failures":
        if (this.self && !this.isLeader() && !this.behind) {
          // One request only: if we are in fact current the leader stays silent.
          const need = (this.keys.current?.epoch ?? 0) + 1;
          this.behind = { need, nextAt: now, attempts: this.config.maxKeyRequests - 1 };
        }
        break;
      case "reset":
        this.reset();
        break;
      default:
        assertNever(event);
    }
    if (this.self) {
      this.runTimers(now);
      this.settleSending(now);
      this.keys.withhold((holders) => this.departedBy(holders, now), this.overtakenBelow(now));
    }
    return this.out;
  }

  /** When the shell must call `handle({type: "tick"})` next, if ever. */
  nextWakeAt(): number | undefined {
    if (!this.self) return undefined;
    const times: number[] = [];
    for (const { at } of this.retireBefore) times.push(at);
    const pastExpiry = this.keys.nextPastExpiry();
    if (pastExpiry !== undefined) times.push(pastExpiry);
    const lockout = this.nextLockoutAt();
    if (lockout !== undefined) times.push(lockout);
    if (this.overtaken && !this.overtaken.passed) times.push(this.overtaken.at);
    for (const holders of this.keys.receivingHolders()) {
      const departure = this.earliestDeparture(holders);
      if (departure !== undefined) times.push(departure);
    }
    if (this.isLeader()) {
      if (this.rotation) times.push(this.rotation.deadline);
      else if (this.coalesceAt !== undefined) times.push(this.coalesceAt);
      else if (this.keys.current && this.nextPeriodicAt !== undefined)
        times.push(this.nextPeriodicAt);
    } else if (this.behind) {
      times.push(this.behind.nextAt);
    }
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  get participantId(): string | undefined {
    return this.self?.participantId;
  }

  /**
   * The leader by this client's roster: lowest join seq (docs/key-schedule.md, The leader). A
   * member still proving its liveness counts, so that nobody takes over from a real leader whose
   * proof is on its way; it gets no key until it has proven itself, and leaves the roster if it
   * never does.
   */
  leaderId(): string | undefined {
    this.leaderCache ??= { id: this.lowestSeqMember() };
    return this.leaderCache.id;
  }

  private lowestSeqMember(): string | undefined {
    if (!this.self) return undefined;
    let best = this.self;
    for (const members of [this.roster, this.pendingMembers]) {
      for (const [participantId, seq] of members) {
        if (seq < best.seq) best = { participantId, seq };
      }
    }
    return best.participantId;
  }

  isLeader(): boolean {
    return this.self !== undefined && this.leaderId() === this.self.participantId;
  }

  /** The epoch media is sent with; 0 before the first key and while locked out of sending. */
  get sendingEpoch(): number {
    return this.sent;
  }

  /** Epochs installed for decryption, ascending. */
  installedEpochs(): number[] {
    return this.keys.installedEpochs();
  }

  // ---- roster ----

  private onJoined(
    self: RosterMember,
    members: readonly RosterMember[],
    pending: readonly RosterMember[],
    now: number,
  ): void {
    this.reset();
    this.self = self;
    for (const member of members) this.roster.set(member.participantId, member.seq);
    for (const member of pending) this.pendingMembers.set(member.participantId, member.seq);
    for (const member of [...members, ...pending]) this.welcomed.add(member.seq);
    this.leaderCache = undefined;
    if (this.isLeader()) {
      this.requestRotation("start", now);
    } else {
      this.behind = { need: 1, nextAt: now + this.config.keyRequestDelayMs, attempts: 0 };
    }
  }

  private onMemberPending(member: RosterMember): void {
    if (!this.self || member.participantId === this.self.participantId) return;
    if (this.roster.has(member.participantId) || this.leftSeqs.has(member.seq)) return;
    this.pendingMembers.set(member.participantId, member.seq);
    if (!this.welcomed.has(member.seq)) this.seenJoining.add(member.seq);
    this.leaderCache = undefined;
  }

  private onMemberJoined(member: RosterMember, now: number): void {
    if (!this.self || member.participantId === this.self.participantId) return;
    // A seq never comes back within a room life: a notice for one that left is a replay.
    if (this.leftSeqs.has(member.seq)) return;
    const known = this.roster.get(member.participantId);
    if (known === member.seq) return;
    if (known !== undefined) this.onMemberLeft(member.participantId, now);
    this.pendingMembers.delete(member.participantId);
    this.expiredMembers.delete(member.participantId);
    // Inferred gone (a holder we could not place) but here after all: not a leaver. A leave
    // already heard, waiting behind this join, stands.
    if (!this.heardLeaving.has(member.seq)) this.departed.delete(member.seq);
    this.roster.set(member.participantId, member.seq);
    this.leaderCache = undefined;
    if (!this.welcomed.has(member.seq)) this.seenJoining.add(member.seq);
    // The leader may hand the joiner the chain in use: count it as a holder of what we hold.
    this.keys.current?.holders.add(member.seq);
    this.keys.pending?.holders.add(member.seq);
    if (this.isLeader()) {
      this.joiners.add(member.participantId);
      this.scheduleRotation(now);
    }
  }

  /** A pending member stops holding back leadership: take over if that makes us the leader. */
  private onMemberExpired(participantId: string, now: number): void {
    const seq = this.pendingMembers.get(participantId);
    if (seq === undefined) return;
    const formerLeader = this.leaderId();
    this.pendingMembers.delete(participantId);
    this.leaderCache = undefined;
    this.expiredMembers.set(participantId, seq);
    if (formerLeader === participantId && this.isLeader() && !this.rotation) {
      this.requestRotation("takeover", now);
    }
  }

  /** Every id this client holds with `seq` (verified, proving itself, or expired). */
  private idsWithSeq(seq: number): string[] {
    const ids = new Set<string>();
    for (const members of [this.roster, this.pendingMembers, this.expiredMembers]) {
      for (const [id, held] of members) if (held === seq) ids.add(id);
    }
    return [...ids];
  }

  /**
   * A seq that may hold what we hold although we never saw it keyed. Not on a fresh key we made
   * ourselves and have not yet committed: we know whom we sent it to, and counting a guess there
   * would lock our own next key out (the call silent until the next periodic fresh key).
   */
  private countAsPossibleHolder(seq: number): void {
    this.keys.current?.holders.add(seq);
    const pending = this.keys.pending;
    if (pending && pending.sourceId !== this.self?.participantId) pending.holders.add(seq);
  }

  private onMemberLeft(participantId: string, now: number): void {
    this.expiredMembers.delete(participantId);
    if (this.pendingMembers.has(participantId)) {
      // It never got a key from us; a leader that saw it proven may have (its seq is departed).
      this.onMemberExpired(participantId, now);
      this.expiredMembers.delete(participantId);
      if (!this.roster.has(participantId)) return;
    }
    const seq = this.roster.get(participantId);
    if (seq === undefined) return;
    this.depart(seq, now);
    const formerLeader = this.leaderId();
    this.roster.delete(participantId);
    this.leaderCache = undefined;
    this.eligibleFrom.delete(participantId);
    this.joiners.delete(participantId);
    if (this.keys.pending?.sourceId === participantId) this.keys.dropPending();
    if (!this.isLeader()) return;
    this.behind = undefined;
    if (this.rotation) {
      // The leaver may hold the fresh key in flight: it must never be committed (lock-out).
      this.rotation = undefined;
      this.keys.dropPending();
    }
    this.requestRotation(formerLeader === this.self?.participantId ? "leave" : "takeover", now);
  }

  /** Whether a seq above `seq` has left (or is departed) and is not among `holders`. */
  private leftAbove(seq: number, holders: ReadonlySet<number>): boolean {
    for (const left of [...this.leftSeqs, ...this.departed.keys()]) {
      if (left > seq && !holders.has(left)) return true;
    }
    return false;
  }

  private depart(seq: number, now: number): void {
    if (!this.departed.has(seq)) this.departed.set(seq, now + this.config.lockoutGraceMs);
  }

  private requestRotation(reason: RotationReason, now: number): void {
    this.needFresh ??= reason;
    // A ratchet held back for RATCHET_PAIR_MS is a fresh key now: only the coalescing holds it.
    const spaced = Math.max(now, (this.lastRotationAt ?? now) + this.config.coalesceMs);
    if (this.coalesceAt !== undefined) this.coalesceAt = Math.min(this.coalesceAt, spaced);
    this.scheduleRotation(now);
  }

  /**
   * Leading-edge coalescing: the first join or leave rotates at once (runTimers, same `handle` call)
   * unless a rotation started less than coalesceMs ago; then it runs coalesceMs after that one. Events
   * arriving while a rotation is scheduled join it, so a burst costs at most two rotations.
   */
  private scheduleRotation(now: number): void {
    const spacedFrom = this.lastRotationAt;
    this.coalesceAt ??=
      spacedFrom === undefined ? now : Math.max(now, spacedFrom + this.config.coalesceMs);
  }

  // ---- leader: rotations and the commit barrier ----

  private runTimers(now: number): void {
    const due = this.retireBefore.filter(({ at }) => at <= now);
    if (due.length > 0) {
      this.retireBefore = this.retireBefore.filter(({ at }) => at > now);
      for (const { epoch } of due) this.keys.retireBelow(epoch);
    }
    this.keys.retirePast(now);
    if (this.isLeader()) {
      if (this.rotation && this.rotation.deadline <= now) this.commit(true);
      if (!this.rotation && this.coalesceAt !== undefined && this.coalesceAt <= now) {
        this.rotate(now, false);
      }
      if (
        !this.rotation &&
        this.coalesceAt === undefined &&
        this.keys.current &&
        this.nextPeriodicAt !== undefined &&
        this.nextPeriodicAt <= now
      ) {
        this.rotate(now, true);
      }
      return;
    }
    const behind = this.behind;
    if (!behind || behind.nextAt > now) return;
    const leader = this.leaderId();
    if (behind.attempts >= this.config.maxKeyRequests || leader === undefined) {
      // Locked out of sending: keep asking, slowly, for as long as the call lasts (a server that
      // withheld the key may behave again); otherwise this episode is over.
      const waiting = this.keys.current !== undefined && this.sent === 0;
      this.behind = waiting
        ? { need: behind.need, nextAt: now + 5 * this.config.keyRequestRetryMs, attempts: 0 }
        : undefined;
      return;
    }
    behind.attempts += 1;
    behind.nextAt = now + this.config.keyRequestRetryMs;
    this.out.push({
      type: "send",
      to: leader,
      message: { type: "key-request", epoch: this.keys.maxKnownEpoch(), have: this.sendingEpoch },
    });
  }

  private rotate(now: number, periodic: boolean): void {
    const self = this.self;
    if (!self) return;
    const current = this.keys.current;
    const joiners = [...this.joiners];
    let reason: RotationReason = this.needFresh ?? (periodic ? "periodic" : "join");
    const periodicFresh =
      periodic && this.rotationsSinceFresh + 1 >= this.config.freshEvery && !this.needFresh;
    if (periodicFresh) reason = "periodic-fresh";
    // A ratchet must land exactly on current+1; if that epoch is taken by anything we have seen,
    // only a fresh key above it is unambiguous.
    // A member handed this chain by a key that is not fresh counts, onward, every seq that joined
    // after it; one of those that left and that the chain never reached withholds the chain's next
    // ratchet there (switchToDelivered). Its ask for a fresh key may still be on the way (a round
    // trip longer than the coalescing), so a joiner gets a fresh key instead of the ratchet, and
    // the next rotation after such an answer is fresh.
    const guessLeft = (seq: number | undefined) =>
      current !== undefined && seq !== undefined && this.leftAbove(seq, current.holders);
    const fresh =
      this.needFresh !== undefined ||
      periodicFresh ||
      current === undefined ||
      this.keys.maxKnownEpoch() > current.epoch ||
      guessLeft(this.guessedFrom) ||
      joiners.some((id) => guessLeft(this.roster.get(id)));
    const twoBack = this.ownSwitches.length >= 2 ? this.ownSwitches[0] : undefined;
    const tooSoon = twoBack !== undefined && now < twoBack + RATCHET_PAIR_MS;
    if (!fresh && current !== undefined && twoBack !== undefined && tooSoon) {
      // A ratchet this soon would be three above a member still reading the switch two back.
      if (periodic) this.nextPeriodicAt = twoBack + RATCHET_PAIR_MS;
      else this.coalesceAt = twoBack + RATCHET_PAIR_MS;
      return;
    }
    this.coalesceAt = undefined;
    this.lastRotationAt = now;
    this.needFresh = undefined;
    this.joiners.clear();
    this.nextPeriodicAt = now + this.config.ratchetIntervalMs;

    if (fresh || current === undefined) {
      const epoch = this.keys.maxKnownEpoch() + 1;
      this.guessedFrom = undefined;
      // Unreachable with bounded steps (FIRST_EPOCH_MAX), but never emit an epoch the wire lacks.
      if (epoch > MAX_EPOCH) return;
      const groupKey = this.random(32);
      // Not a member already departed (its leave heard, its member-left waiting behind a
      // signature check): it would hold the new key, which its leave then locks out.
      const recipients = [...this.roster].flatMap(([id, seq]) =>
        this.departed.has(seq) ? [] : [id],
      );
      const holders = new Set([self.seq, ...recipients.map((id) => this.roster.get(id) ?? 0)]);
      this.keys.see(epoch);
      this.rotationsSinceFresh = 0;
      this.out.push({
        type: "rotation",
        epoch,
        fresh: true,
        reason,
        recipients: recipients.length,
      });
      const pending = {
        epoch,
        groupKey,
        chainStart: epoch,
        sourceSeq: self.seq,
        sourceId: self.participantId,
        holders,
      };
      this.keys.setPending(pending);
      // One message for every recipient (the transport encodes it once and seals it n-2 times).
      const delivery = this.freshDelivery(pending);
      for (const to of recipients) {
        if (!this.eligibleFrom.has(to)) this.eligibleFrom.set(to, epoch);
        this.out.push({ type: "send", to, message: delivery });
      }
      this.rotation = {
        recipients: new Set(recipients),
        awaiting: new Set(recipients),
        deadline: now + this.config.ackTimeoutMs,
      };
      if (recipients.length === 0) this.commit(false);
      return;
    }

    const epoch = current.epoch + 1;
    if (epoch > MAX_EPOCH) return;
    const groupKey = ratchetGroupKey(current.groupKey);
    this.rotationsSinceFresh += 1;
    this.out.push({ type: "rotation", epoch, fresh: false, reason, recipients: joiners.length });
    if (this.roster.size > 0) {
      this.out.push({
        type: "broadcast",
        body: {
          kind: "ratchet",
          epoch,
          chainStart: current.chainStart,
          leaderSeq: self.seq,
          keyCheck: keyCheckOf(groupKey),
        },
      });
    }
    this.switchTo({
      epoch,
      groupKey,
      chainStart: current.chainStart,
      sourceSeq: self.seq,
      holders: current.holders,
    });
    for (const to of joiners) {
      this.eligibleFrom.set(to, epoch);
      this.out.push({
        type: "send",
        to,
        message: {
          type: "key",
          epoch,
          groupKey,
          kind: "ratchet-join",
          chainStart: current.chainStart,
          leaderSeq: self.seq,
          holders: [...current.holders],
        },
      });
    }
    this.out.push({ type: "commit", epoch, acked: 0, timedOut: false });
    this.noteOwnSwitch(now);
  }

  private noteOwnSwitch(now: number): void {
    this.ownSwitches = [...this.ownSwitches, now].slice(-2);
  }

  private freshDelivery(pending: HeldKey): KeyMessageBody {
    return {
      type: "key",
      epoch: pending.epoch,
      groupKey: pending.groupKey,
      kind: "fresh",
      chainStart: pending.epoch,
      leaderSeq: pending.sourceSeq,
      holders: [...pending.holders],
    };
  }

  private commit(timedOut: boolean): void {
    const pending = this.keys.pending;
    const rotation = this.rotation;
    this.rotation = undefined;
    if (!pending || !rotation || !this.self) return;
    if (this.roster.size > 0) {
      this.out.push({
        type: "broadcast",
        body: {
          kind: "commit",
          epoch: pending.epoch,
          chainStart: pending.epoch,
          leaderSeq: this.self.seq,
          keyCheck: keyCheckOf(pending.groupKey),
        },
      });
    }
    this.switchTo(pending);
    const acked = rotation.recipients.size - rotation.awaiting.size;
    this.out.push({ type: "commit", epoch: pending.epoch, acked, timedOut });
    this.noteOwnSwitch(this.now);
  }

  // ---- key messages ----

  private onKeyMessage(from: string, message: KeyMessageBody, now: number): void {
    if (!this.self || !this.roster.has(from)) return;
    switch (message.type) {
      case "key":
        this.onKeyDelivery(from, message, now);
        break;
      case "ack":
        this.onAck(from, message.epoch, message.have, now);
        break;
      case "key-request":
        this.onKeyRequest(from, message.epoch, message.have);
        break;
      default:
        assertNever(message);
    }
  }

  /**
   * Key material comes only from the leader by our own roster, claiming its own seq, and moves the
   * epoch forward by at most the look-ahead (docs/key-schedule.md, Who may make keys); a member
   * without any key accepts a first epoch in the lower half of the space.
   */
  private accepts(from: string, epoch: number, leaderSeq: number): boolean {
    if (from !== this.leaderId() || this.roster.get(from) !== leaderSeq) return false;
    return this.withinStep(epoch);
  }

  /** Whether `epoch` is a bounded step above what we know (or a plausible first epoch). */
  private withinStep(epoch: number): boolean {
    const known = this.keys.maxKnownEpoch();
    if (known === 0) return epoch <= FIRST_EPOCH_MAX;
    return epoch <= Math.min(MAX_EPOCH, known + this.config.maxRatchetLookahead);
  }

  private onKeyDelivery(
    from: string,
    message: Extract<KeyMessageBody, { type: "key" }>,
    now: number,
  ): void {
    const self = this.self;
    if (!self || message.chainStart > message.epoch) return;
    const current = this.keys.current;
    if (current && message.epoch <= current.epoch) {
      const heldAtEpoch = this.keys.installedKey(message.epoch);
      const differs = !heldAtEpoch || !equalBytes(heldAtEpoch, message.groupKey);
      if (from !== this.leaderId() || this.roster.get(from) !== message.leaderSeq) return;
      if (!differs) {
        // The key we hold, answered again: take the leader's holder list afresh. A leave we saw
        // after the key arrived may have counted the leaver as a holder; the leader knows better
        // for this epoch and those below it (key-store.ts, reholdCurrent).
        if (message.kind === "current" && message.epoch === current.epoch) {
          this.keys.reholdCurrent(this.holdersOf(message, now));
        }
        return;
      }
      if (message.kind === "fresh" && from === this.leaderId()) {
        // The leader picked an epoch we are already past (it missed a rotation): say so, and it
        // re-keys above our epoch.
        this.out.push({
          type: "send",
          to: from,
          message: { type: "ack", epoch: message.epoch, have: current.epoch },
        });
      } else if (
        message.kind !== "fresh" &&
        message.epoch === current.epoch &&
        message.leaderSeq < current.sourceSeq
      ) {
        // Two leaders made the same epoch: the lower leader seq wins (docs/key-schedule.md, The
        // leader).
        this.switchToDelivered(message, now);
      }
      return;
    }
    if (!this.accepts(from, message.epoch, message.leaderSeq)) return;
    if (
      this.keys.pending &&
      this.keys.pending.sourceId === from &&
      message.epoch < this.keys.pending.epoch
    )
      return;
    this.keys.see(message.epoch);
    if (message.kind === "fresh") {
      if (this.rotation) this.rotation = undefined; // a higher self-declared leader won
      // A fresh key starts its own chain, whatever chainStart the message claims.
      // Installed with its look-ahead too: the leader may ratchet right after its commit, and a
      // member that reads that ratchet's frames before the commit must already decrypt them.
      this.keys.setPending({
        ...this.heldKeyOf(message, now),
        chainStart: message.epoch,
        sourceId: from,
      });
      this.out.push({
        type: "send",
        to: from,
        message: { type: "ack", epoch: message.epoch, have: current?.epoch ?? 0 },
      });
      if (this.behind && this.behind.need <= message.epoch) {
        // Its commit is on the way: hold the next key request back.
        this.behind.nextAt = now + this.config.keyRequestRetryMs;
      }
      return;
    }
    this.switchToDelivered(message, now);
  }

  /**
   * Switches to a key that is not fresh (a `current` answer, a joiner's ratchet, a rival leader's
   * key). Its holder list is complete for its own epoch and those below (the leader wrote it while
   * that key was its current one), not for the ratchets after it: the server may have held the
   * message back while the leader handed the next ratchet to a joiner who has left since. So the
   * chain onward keeps whoever we already counted for it and everyone announced to us since we
   * joined: a key that is not fresh never shrinks a chain's holders. Counting too many costs one
   * key request at the next ratchet, when a leaver among them makes us ask.
   */
  private switchToDelivered(message: Extract<KeyMessageBody, { type: "key" }>, now: number): void {
    const held = this.heldKeyOf(message, now);
    const settled = held.holders;
    const onward = new Set(settled);
    const current = this.keys.current;
    const sameChain =
      current && current.chainStart === held.chainStart && current.sourceSeq === held.sourceSeq;
    if (sameChain) {
      for (const seq of current.holders) onward.add(seq);
    }
    for (const seq of this.seenJoining) onward.add(seq);
    this.switchTo({ ...held, holders: onward });
    // The chain's past epochs held with its old holder set take the leader's list too (complete
    // for them): left on the old set, a holder the list names, or a later guess, would reach only
    // the current epoch and above, and the past epochs stay accepted after its deadline.
    this.keys.reholdCurrent(settled, sameChain ? current.holders : undefined);
    // A seq we count onward only as a guess has already left: the chain's next ratchet will be
    // withheld here the moment it is made, while everyone else sends with it. Ask now, naming the
    // epoch above, so that the leader's next rotation is a fresh key instead (its commit barrier
    // installs it here first); the leader stays silent, our `have` being its epoch.
    const leader = this.leaderId();
    const guessLeft = [...onward].some((seq) => !settled.has(seq) && this.departed.has(seq));
    if (guessLeft && leader !== undefined && !this.isLeader()) {
      this.keys.see(held.epoch + 1);
      this.out.push({
        type: "send",
        to: leader,
        message: { type: "key-request", epoch: this.keys.maxKnownEpoch(), have: held.epoch },
      });
    }
  }

  /** A delivered key as we hold it: our own copy of the bytes, and its holders as we count them. */
  private heldKeyOf(message: Extract<KeyMessageBody, { type: "key" }>, now: number): HeldKey {
    return {
      epoch: message.epoch,
      groupKey: message.groupKey.slice(),
      chainStart: message.chainStart,
      sourceSeq: message.leaderSeq,
      holders: this.holdersOf(message, now),
    };
  }

  /**
   * The holders the leader names, plus the leader itself. A named holder that is neither on our
   * roster nor still proving itself left before we could see it (or the server hid its leave from
   * us): treat it as departed, so the chain is locked out for us as for everyone else.
   */
  private holdersOf(message: { holders: readonly number[]; leaderSeq: number }, now: number) {
    const holders = new Set(message.holders);
    holders.add(message.leaderSeq);
    // Everyone present in our view may hold the chain too: the leader hands it to joiners it has
    // proven since it wrote this list (proofs arrive in any order), and a member we see that the
    // leader left out is either such a joiner or a leaver whose leave we are about to see. Counting
    // too many holders can only make us ask for a key; counting too few could keep a leaver on it.
    for (const seq of this.presentSeqs()) holders.add(seq);
    const present = new Set(this.presentSeqs());
    if (this.self) present.add(this.self.seq);
    for (const seq of holders) if (!present.has(seq)) this.depart(seq, now);
    return holders;
  }

  private presentSeqs(): number[] {
    return [
      ...this.roster.values(),
      ...this.pendingMembers.values(),
      ...this.expiredMembers.values(),
    ];
  }

  private onAck(from: string, epoch: number, have: number, now: number): void {
    const pending = this.keys.pending;
    const rotation = this.rotation;
    if (!this.isLeader() || !pending || !rotation) return;
    if (epoch !== pending.epoch || !rotation.recipients.has(from)) return;
    // A member can legitimately be a little ahead (it kept a key from a leader we replaced), never
    // far: our re-key lands at have + 1, which must stay inside every member's bounded step even
    // for one a few epochs behind, so claims beyond half the look-ahead are refused.
    if (have > pending.epoch + Math.floor(this.config.maxRatchetLookahead / 2)) return;
    if (have >= pending.epoch) {
      this.keys.see(have);
      this.rotation = undefined;
      this.keys.dropPending();
      this.needFresh = "stale";
      this.coalesceAt = now;
      return;
    }
    rotation.awaiting.delete(from);
    if (rotation.awaiting.size === 0) this.commit(false);
  }

  private onKeyRequest(from: string, epoch: number, have: number): void {
    if (!this.isLeader() || !this.self) return;
    if (epoch > this.keys.maxKnownEpoch() + this.config.maxRatchetLookahead || have > epoch) return;
    const eligible = this.eligibleFrom.get(from);
    // Not yet keyed by any rotation: the rotation covering its join will deliver the key.
    if (eligible === undefined) return;
    // Nothing for a member whose leave is heard: the keys it would get are what its leave retires.
    if (this.departed.has(this.roster.get(from) ?? -1)) return;
    // At most one above the key in use, however many requests arrive: a burst must not creep the
    // next fresh epoch out of the members' bounded step.
    this.keys.see(Math.min(epoch, (this.keys.current?.epoch ?? 0) + 1));
    if (this.rotation?.recipients.has(from)) {
      if (this.rotation.awaiting.has(from) && this.keys.pending) {
        this.out.push({ type: "send", to: from, message: this.freshDelivery(this.keys.pending) });
      }
      return;
    }
    const current = this.keys.current;
    if (!current || current.epoch < eligible || have >= current.epoch) return;
    const seq = this.roster.get(from);
    if (seq !== undefined) this.guessedFrom = Math.min(this.guessedFrom ?? seq, seq);
    this.out.push({
      type: "send",
      to: from,
      message: {
        type: "key",
        epoch: current.epoch,
        groupKey: current.groupKey,
        kind: "current",
        chainStart: current.chainStart,
        leaderSeq: this.self.seq,
        holders: [...current.holders],
      },
    });
  }

  // ---- broadcasts ----

  /**
   * Whether a broadcast from `from` saying `body` would be acted on, asked before its signature is
   * checked so that only the leader's broadcasts above our epoch cost a check.
   */
  considers(from: string, body: BroadcastBody): boolean {
    if (!this.self || !this.roster.has(from) || body.chainStart > body.epoch) return false;
    if (body.epoch <= (this.keys.current?.epoch ?? 0)) return false;
    return this.accepts(from, body.epoch, body.leaderSeq);
  }

  private onBroadcast(from: string, body: BroadcastBody, now: number): void {
    if (!this.considers(from, body)) return;
    // Whatever follows, a key we hold for this epoch that the leader's check refutes goes now.
    this.keys.refute(body.epoch, body.keyCheck);
    const pending = this.keys.pending;
    if (body.kind === "commit") {
      if (
        pending &&
        pending.epoch === body.epoch &&
        equalBytes(keyCheckOf(pending.groupKey), body.keyCheck)
      ) {
        this.switchTo(pending);
      } else {
        this.overtakenAt(body.epoch, now);
      }
      return;
    }
    // "ratchet to epoch": derive it from the newest key we hold on the same chain, if close enough.
    const bases = [this.keys.current, pending].filter(
      (held): held is HeldKey =>
        held !== undefined &&
        held.epoch >= body.chainStart &&
        held.epoch < body.epoch &&
        body.epoch - held.epoch <= this.config.maxRatchetLookahead,
    );
    const base = bases.sort((a, b) => b.epoch - a.epoch)[0];
    if (base) {
      let groupKey = base.groupKey;
      for (let epoch = base.epoch; epoch < body.epoch; epoch++)
        groupKey = ratchetGroupKey(groupKey);
      if (equalBytes(keyCheckOf(groupKey), body.keyCheck)) {
        this.keys.see(body.epoch);
        this.switchTo({
          epoch: body.epoch,
          groupKey,
          chainStart: body.chainStart,
          sourceSeq: body.leaderSeq,
          holders: base.holders,
        });
        return;
      }
    }
    this.overtakenAt(body.epoch, now);
  }

  /**
   * The leader has moved to `epoch`, which we cannot follow: ask for it, and give our current
   * chain one lock-out grace. A leave the server hid from us while it dropped our fresh key would
   * otherwise keep us on a chain the leaver holds for good; the others stop taking its frames after
   * their own grace, so stopping costs an honest member nothing.
   */
  private overtakenAt(epoch: number, now: number): void {
    this.markBehind(epoch, now);
    const leader = this.leaderId();
    const earlier = this.overtaken?.leader === leader ? this.overtaken : undefined;
    this.overtaken = {
      epoch: Math.max(epoch, earlier?.epoch ?? 0),
      at: earlier?.at ?? now + this.config.lockoutGraceMs,
      passed: earlier?.passed ?? false,
      leader,
    };
  }

  /**
   * Epochs below this one no longer count (overtaken, its grace passed); 0 when none. Only while
   * the leader that named it leads: its successor re-keys from the epochs it knows, maybe far
   * below (a leader that signed a huge epoch and left would otherwise silence us for good), and
   * every chain the old leader made has it as a holder, so its leave locks those out anyway.
   */
  private overtakenBelow(now: number): number {
    const overtaken = this.overtaken;
    if (!overtaken || overtaken.at > now) return 0;
    if (overtaken.leader !== this.leaderId()) {
      this.overtaken = undefined;
      return 0;
    }
    overtaken.passed = true;
    return overtaken.epoch;
  }

  // ---- lock-out: every member's job (docs/key-schedule.md, Lock-out) ----

  /** Whether a holder in `holders` has departed and its lock-out deadline has passed by `now`. */
  private departedBy(holders: ReadonlySet<number>, now: number): boolean {
    const deadline = this.earliestDeparture(holders);
    return deadline !== undefined && deadline <= now;
  }

  /** When a lock-out deadline stops us sending with the current key (SEND_LEAD_MS before it). */
  private nextLockoutAt(): number | undefined {
    const holders = this.keys.currentHolders();
    if (!holders || this.sent === 0) return undefined;
    const deadline = this.earliestDeparture(holders);
    return deadline === undefined ? undefined : deadline - SEND_LEAD_MS;
  }

  /**
   * The earliest lock-out deadline of a leaver among a chain's `holders`. Asked after every event
   * (each of a rotation's n-2 acknowledgements), so it walks the smaller side: a big call's key has
   * hundreds of holders and usually one or two leavers, a long churning call the other way round.
   */
  private earliestDeparture(holders: ReadonlySet<number>): number | undefined {
    let earliest: number | undefined;
    const consider = (seq: number, deadline: number | undefined) => {
      if (deadline === undefined || !holders.has(seq)) return;
      if (earliest === undefined || deadline < earliest) earliest = deadline;
    };
    if (this.departed.size < holders.size) {
      for (const [seq, deadline] of this.departed) consider(seq, deadline);
    } else {
      for (const seq of holders) consider(seq, this.departed.get(seq));
    }
    return earliest;
  }

  /**
   * Sending follows the current key unless a leaver may hold it and its deadline has passed: then
   * nothing is sent (fail closed) and the leader is asked, until a key the leaver never had arrives.
   */
  private settleSending(now: number): void {
    const current = this.keys.current;
    const holders = this.keys.currentHolders();
    // A current key whose epoch holds nothing (it lost that key once and never takes it back:
    // key-store.ts, install) cannot be sent with either: asking below names the epoch above, so
    // the leader's next rotation is a fresh key this member can install.
    const empty = current !== undefined && this.keys.installedKey(current.epoch) === undefined;
    const usable =
      current !== undefined &&
      !empty &&
      holders !== undefined &&
      !this.departedBy(holders, now + SEND_LEAD_MS) &&
      current.epoch >= this.overtakenBelow(now);
    const epoch = usable ? current.epoch : 0;
    if (current && !usable) {
      // A leader locked out of its own key (a holder it could not rule out has left) re-keys
      // rather than wait for the next periodic fresh key; anyone else asks the leader.
      // Not while a fresh key is in flight: it excludes every leaver we knew when we made it (a
      // later leave cancels it), and its commit settles this again.
      if (this.isLeader()) {
        if (!this.rotation) this.requestRotation("leave", now);
      } else {
        // Naming the epoch above makes the leader's next rotation a fresh key (its answer for
        // the current one may lift the lock-out only for that epoch: key-store.ts, reholdCurrent).
        this.keys.see(current.epoch + 1);
        this.markBehind(current.epoch + 1, now);
      }
    }
    if (epoch === this.sent) return;
    this.sent = epoch;
    this.out.push({ type: "switch", epoch });
  }

  private markBehind(need: number, now: number): void {
    if (this.behind && this.behind.need >= need) return;
    // Without any key we may simply be waiting for our join envelope: give it time to arrive.
    const delay = this.keys.current || this.keys.pending ? 0 : this.config.keyRequestDelayMs;
    this.behind = { need, nextAt: now + delay, attempts: 0 };
  }

  // ---- switching keys ----

  private switchTo(next: HeldKey): void {
    const previous = this.keys.current;
    // A pending key at or below the new current one is settled, and with it the rotation for it.
    if (this.keys.switchTo(next, this.now + this.config.retireGraceMs)) this.rotation = undefined;
    if (this.behind && next.epoch >= this.behind.need) this.behind = undefined;
    if (this.overtaken && next.epoch >= this.overtaken.epoch) this.overtaken = undefined;
    const newChain = next.chainStart === next.epoch || next.chainStart !== previous?.chainStart;
    // Another leader's chain that started at the same epoch as ours (two leaders of a split view
    // each made a fresh key there) is another chain too: every epoch below the one we take is the
    // losing chain's, and goes.
    const rival = !newChain && previous !== undefined && next.sourceSeq !== previous.sourceSeq;
    if (previous && (newChain || rival)) {
      const below = rival ? next.epoch : next.chainStart;
      const at = this.now + this.config.retireGraceMs;
      // Bounded: a newer deadline for the same or a lower start adds nothing.
      if (!this.retireBefore.some((r) => r.epoch >= below)) {
        this.retireBefore.push({ epoch: below, at });
      }
    }
  }

  private reset(): void {
    this.keys.clear();
    if (this.sent !== 0) this.out.push({ type: "switch", epoch: 0 });
    this.sent = 0;
    this.self = undefined;
    this.roster.clear();
    this.pendingMembers.clear();
    this.leaderCache = undefined;
    this.departed.clear();
    this.heardLeaving.clear();
    this.leftSeqs.clear();
    this.expiredMembers.clear();
    this.behind = undefined;
    this.overtaken = undefined;
    this.seenJoining.clear();
    this.welcomed.clear();
    this.retireBefore = [];
    this.rotation = undefined;
    this.joiners.clear();
    this.needFresh = undefined;
    this.coalesceAt = undefined;
    this.lastRotationAt = undefined;
    this.ownSwitches = [];
    this.nextPeriodicAt = undefined;
    this.rotationsSinceFresh = 0;
    this.guessedFrom = undefined;
    this.eligibleFrom.clear();
  }
}
