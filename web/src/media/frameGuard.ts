// The frame guard inside the E2EE worker (docs/media-keys.md, 6. The frame guard and Fail
// closed): it stands before and after livekit's frame cryptor and lets a frame
// through only when our key plan allows it. livekit alone would decrypt with whatever its key ring
// holds and pass frames through in plaintext in several cases; the guard does not trust that:
// - before decryption: a frame must name a key index in its sender's allowed set (a sender we were
//   never told about has none), with livekit's 12-byte IV, and an IV not yet accepted on its stream;
// - after decryption: the very frame object must come back exactly ENCRYPTION_OVERHEAD bytes
//   shorter (livekit decrypted it; a pass-through keeps its length), its key must still be allowed,
//   and only then is its IV recorded in the stream's replay window;
// - after encryption: one of our frames leaves only when livekit encrypted it (ENCRYPTION_OVERHEAD
//   bytes longer) under an allowed send key; with "send nothing" no frame leaves.
//
// Codecs: the length rule holds for VP8 and Opus, which is all we publish (callMedia.ts). livekit
// RBSP-escapes H.264/H.265 ciphertext, which changes lengths: such frames are refused in both
// directions (fail closed) rather than parsed.
//
// Plans arrive in two steps so that a key is allowed only once livekit holds it: `restrict` (on the
// plan message, at once) keeps only what the new plan still allows; `commit` (when the barrier
// comes back through livekit's message queue, i.e. after livekit installed the plan's keys) allows
// the whole plan. Retirements and "send nothing" therefore act at once, additions after the keys.
import {
  ENCRYPTION_OVERHEAD,
  type GuardPlan,
  IV_LENGTH,
  type PlannedKey,
  type RefusedCounts,
  sameKey,
} from "./guardProtocol";

/** IVs remembered per stream; older ones are covered by the stream's timestamp floor. */
export const REPLAY_WINDOW = 8192;
/** (sender, key) pairs whose replay floors are kept after the core let go of the key. */
export const RETIRED_WINDOWS_KEPT = 4096;
/** Streams (SSRCs) tracked per sender key; frames of further streams are refused. */
export const STREAMS_PER_KEY = 32;
/**
 * (sender, epoch, generation) triples whose key check the guard remembers. Every plan renews the
 * ones it names, so only triples no plan named for a long time are forgotten; a triple a plan names
 * but whose binding did not fit is not allowed.
 */
export const BINDINGS_KEPT = 16_384;
/** What a (sender, epoch, generation) is bound to once plans named two checks for it: no key. */
const CONFLICTED = "";

/** The part of RTCEncodedVideoFrame / RTCEncodedAudioFrame the guard reads. */
export interface GuardedFrame {
  data: ArrayBuffer;
}

function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

/** RFC 1982 serial arithmetic on 32-bit RTP timestamps: a at or before b. */
function notAfter(a: number, b: number): boolean {
  return (b - a) >>> 0 < 0x80000000;
}

/**
 * Accepted IVs of one stream (one sender key, one SSRC). livekit's IV is SSRC || RTP timestamp ||
 * (timestamp - frame counter): unique per frame. The newest REPLAY_WINDOW IVs are kept exactly;
 * anything at or before the timestamp of an evicted one is refused as a replay.
 */
class ReplayWindow {
  private readonly seen = new Set<string>();
  /** The newest timestamp accepted, what the window shrinks to when its key is let go of. */
  private newest: number | undefined;

  constructor(private floor: number | undefined = undefined) {}

  /** Everything at or before this timestamp is a replay: the window reduced to one number. */
  retiredFloor(): number | undefined {
    return this.newest ?? this.floor;
  }

  has(iv: Uint8Array): boolean {
    if (this.seen.has(hex(iv))) return true;
    return this.floor !== undefined && notAfter(timestampOf(iv), this.floor);
  }

  add(iv: Uint8Array) {
    this.seen.add(hex(iv));
    const timestamp = timestampOf(iv);
    if (this.newest === undefined || notAfter(this.newest, timestamp)) this.newest = timestamp;
    if (this.seen.size <= REPLAY_WINDOW) return;
    const oldest = this.seen.values().next().value as string;
    this.seen.delete(oldest);
    const evicted = Number.parseInt(oldest.slice(8, 16), 16);
    this.floor = this.floor === undefined || notAfter(this.floor, evicted) ? evicted : this.floor;
  }
}

/** The public check of each key the core holds, by "epoch/generation". */
function heldChecks(plan: GuardPlan): Map<string, string> {
  return new Map(plan.held.map((h) => [`${h.epoch}/${h.generation}`, h.check]));
}

/** The key check a window name `${participantId}/${check}` ends with (checks have no "/"). */
function checkIn(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}

/** The check of the held key `key` stands for, or undefined when the core does not hold it. */
function checkOf(checks: Map<string, string>, key: PlannedKey): string | undefined {
  return checks.get(`${key.epoch}/${key.generation}`);
}

/** The name of a sender key's binding (epoch and generation first: ids may hold any text). */
function bindingOf(participantId: string, key: PlannedKey): string {
  return `${key.epoch}/${key.generation}/${participantId}`;
}

/** Our send key, with the check of the key bytes it was allowed with. */
interface SendKey {
  key: PlannedKey;
  check: string;
}

function timestampOf(iv: Uint8Array): number {
  return new DataView(iv.buffer, iv.byteOffset, iv.byteLength).getUint32(4);
}

function ssrcOf(iv: Uint8Array): number {
  return new DataView(iv.buffer, iv.byteOffset, iv.byteLength).getUint32(0);
}

interface Trailer {
  slot: number;
  iv: Uint8Array;
}

/** livekit's trailer, or undefined when the frame cannot be one livekit encrypted. */
function trailerOf(data: Uint8Array): Trailer | undefined {
  const length = data.byteLength;
  if (length < ENCRYPTION_OVERHEAD) return undefined;
  const slot = data[length - 1];
  if (data[length - 2] !== IV_LENGTH || slot === undefined) return undefined;
  return {
    slot,
    iv: data.slice(length - 2 - IV_LENGTH, length - 2),
  };
}

/** A sender's allowed keys by slot, each with the replay windows of its streams. */
interface AllowedKey {
  key: PlannedKey;
  /** The key's public check when it was allowed: it stays allowed only while held with it. */
  check: string;
  streams: Map<number, ReplayWindow>;
}

interface PendingDecrypt {
  participantId: string;
  length: number;
  allowed: AllowedKey;
  iv: Uint8Array;
}

const ZERO: RefusedCounts = { keyNotAllowed: 0, replay: 0, notDecrypted: 0, serverInjected: 0 };

export class FrameGuard {
  private local = "";
  private readonly receive = new Map<string, Map<number, AllowedKey>>();
  /**
   * Replay windows by sender and key (participant id and the key's public check), kept for as long
   * as the core holds that key, whether or not the sender is on the roster: a sender key depends
   * only on the group key and the id, so a sender that drops off and comes back (a reconnect) must
   * not get fresh windows the SFU could replay its recorded frames into.
   */
  private readonly windows = new Map<string, Map<number, ReplayWindow>>();
  /**
   * What is left of the windows of keys the core let go of: per stream, the newest timestamp
   * accepted (the newest RETIRED_WINDOWS_KEPT pairs). Should the same key bytes be held again,
   * under any epoch or generation, their streams go on from there: the core never gives an epoch
   * back a key it lost, and this holds even if it did.
   */
  private readonly retiredFloors = new Map<string, Map<number, number>>();
  /**
   * The key check each (sender, epoch, generation) was first planned with, by
   * "epoch/generation/participant", least recently planned first (the newest BINDINGS_KEPT; our own
   * send key under our id). Bound at `restrict`, before livekit gets the plan's keys, so a plan
   * superseded before its barrier binds too. livekit keeps the bytes it was given for a slot until
   * the page installs another generation there, so a triple that a later plan names with another
   * check may still decrypt with the first key's bytes: it becomes CONFLICTED and is never allowed
   * again. Treating the new check as a new key instead would record frames livekit decrypted with
   * the first bytes in the new key's windows, out of reach of the first key's floors, so the SFU
   * could replay them once those bytes were held again.
   */
  private readonly bindings = new Map<string, string>();
  private send: SendKey[] = [];
  private pending: { id: number; plan: GuardPlan } | undefined;
  private readonly decrypting = new WeakMap<object, PendingDecrypt>();
  /** Each of our frames in livekit's encrypt: its length, and sendChanges when it went in. */
  private readonly encrypting = new WeakMap<object, { length: number; at: number }>();
  /**
   * livekit reads the key at our current index when a frame starts encrypting and encrypts after
   * an await, so a frame that went in before the bytes at its slot changed may come out after the
   * commit that allows the slot's new key, under the old bytes. Bumped at every commit after which
   * the slot of the send key last committed no longer carries that key; per slot, its value then.
   */
  private sendChanges = 0;
  private readonly slotChangedAt = new Map<number, number>();
  /** The send key of the plan last committed (what livekit's ring holds at its slot). */
  private lastSend: PlannedKey | undefined;
  private readonly refused = new Map<string, RefusedCounts>();
  private sendBlocked = 0;
  /**
   * The trailer the SFU marks its own frames with (livekit's SIF trailer). Never installed in
   * livekit, which would pass such frames on undecrypted: here it only names what was refused.
   */
  private serverInjectedTrailer: Uint8Array | undefined;
  /** Bumped on every refusal, so the worker reports only when something changed. */
  version = 0;
  onRefused: (() => void) | undefined;

  /** The SFU told us its server-injected-frame trailer (livekit's setSifTrailer). */
  setServerInjectedTrailer(trailer: Uint8Array) {
    this.serverInjectedTrailer = trailer.byteLength > 0 ? trailer.slice() : undefined;
  }

  /** Our identity in the plan waiting for its barrier (the barrier goes through livekit as ours). */
  pendingLocal(): string | undefined {
    return this.pending?.plan.local;
  }

  /** A new plan: from now on only what it still allows passes (retirements act at once). */
  restrict(id: number, plan: GuardPlan) {
    this.bind(plan);
    const checks = heldChecks(plan);
    const next = new Map(plan.senders.map((s) => [s.participantId, s.keys] as const));
    for (const [participantId, ring] of this.receive) {
      const keys = next.get(participantId) ?? [];
      for (const [slot, allowed] of ring) {
        // Still planned, and still held with the same key bytes.
        const kept =
          keys.some((key) => sameKey(key, allowed.key)) &&
          this.trusted(checks, participantId, allowed.key) === allowed.check;
        if (!kept) ring.delete(slot);
      }
      if (ring.size === 0) this.receive.delete(participantId);
    }
    // Our previous send key may finish the switch only while the core still holds its bytes.
    this.send =
      plan.send === null || plan.local !== this.local
        ? []
        : this.send.filter(({ key, check }) => this.trusted(checks, plan.local, key) === check);
    const stillHeld = new Set(checks.values());
    for (const [name, streams] of this.windows) {
      if (stillHeld.has(checkIn(name))) continue;
      this.windows.delete(name);
      this.keepFloors(name, streams);
    }
    // A key held again keeps its floors live (and out of eviction) whether or not its sender is
    // on the roster now, as windows of held keys are.
    for (const name of [...this.retiredFloors.keys()]) {
      if (stillHeld.has(checkIn(name))) this.liveWindows(name);
    }
    this.pending = { id, plan };
  }

  /**
   * Allows no frame in or out until a later plan commits: restricts to an empty plan (replay
   * floors kept, as for any retirement) and drops the plan waiting for its barrier.
   */
  allowNothing() {
    this.restrict(0, { local: this.local, send: null, held: [], senders: [] });
    this.pending = undefined;
  }

  /** Binds every key the plan names to its check; a second check for a triple conflicts. */
  private bind(plan: GuardPlan) {
    const checks = heldChecks(plan);
    // A held entry listed twice with two checks conflicts at once.
    for (const { epoch, generation, check } of plan.held) {
      if (checks.get(`${epoch}/${generation}`) !== check) {
        checks.set(`${epoch}/${generation}`, CONFLICTED);
      }
    }
    const named = plan.senders.flatMap(({ participantId, keys }) =>
      keys.map((key) => ({ participantId, key })),
    );
    if (plan.send) named.push({ participantId: plan.local, key: plan.send });
    for (const { participantId, key } of named) {
      const check = checkOf(checks, key);
      if (check === undefined) continue;
      const name = bindingOf(participantId, key);
      const bound = this.bindings.get(name);
      // Renewed as the newest: what a plan names is the last to be forgotten.
      this.bindings.delete(name);
      this.bindings.set(name, bound === undefined || bound === check ? check : CONFLICTED);
    }
    while (this.bindings.size > BINDINGS_KEPT) {
      this.bindings.delete(this.bindings.keys().next().value as string);
    }
  }

  /**
   * The check of `participantId`'s `key` when the core holds it and every plan that named this
   * sender, epoch and generation named this check; otherwise undefined (not a key to allow).
   */
  private trusted(
    checks: Map<string, string>,
    participantId: string,
    key: PlannedKey,
  ): string | undefined {
    const check = checkOf(checks, key);
    if (check === undefined || check === CONFLICTED) return undefined;
    return this.bindings.get(bindingOf(participantId, key)) === check ? check : undefined;
  }

  /** The windows of `participantId` under the key with `check`, where its frames left off. */
  private windowsOf(participantId: string, check: string): Map<number, ReplayWindow> {
    return this.liveWindows(`${participantId}/${check}`);
  }

  private liveWindows(name: string): Map<number, ReplayWindow> {
    let streams = this.windows.get(name);
    if (!streams) {
      const floors = this.retiredFloors.get(name);
      this.retiredFloors.delete(name);
      streams = new Map(
        [...(floors ?? [])].map(([ssrc, floor]) => [ssrc, new ReplayWindow(floor)]),
      );
      this.windows.set(name, streams);
    }
    return streams;
  }

  private keepFloors(name: string, streams: Map<number, ReplayWindow>) {
    const floors = new Map<number, number>();
    for (const [ssrc, window] of streams) {
      const floor = window.retiredFloor();
      if (floor !== undefined) floors.set(ssrc, floor);
    }
    if (floors.size === 0) return;
    this.retiredFloors.set(name, floors);
    if (this.retiredFloors.size > RETIRED_WINDOWS_KEPT) {
      const oldest = this.retiredFloors.keys().next().value as string;
      this.retiredFloors.delete(oldest);
    }
  }

  /** livekit has processed every key message sent before plan `id`'s barrier: allow that plan. */
  commit(id: number): boolean {
    if (this.pending?.id !== id) return false;
    const { plan } = this.pending;
    this.pending = undefined;
    this.local = plan.local;
    const checks = heldChecks(plan);
    // Our send key too must be one the core holds (fail closed: send nothing).
    const sendCheck = plan.send ? this.trusted(checks, plan.local, plan.send) : undefined;
    this.send = plan.send && sendCheck !== undefined ? [{ key: plan.send, check: sendCheck }] : [];
    // The previous send key's bytes are gone from its slot (another key, or a wipe): frames that
    // went into livekit before now may carry them and must not leave under that slot.
    const previous = this.lastSend;
    if (previous && !sameKey(previous, plan.send)) {
      this.sendChanges += 1;
      this.slotChangedAt.set(previous.slot, this.sendChanges);
    }
    this.lastSend = plan.send ?? undefined;
    for (const { participantId, keys } of plan.senders) {
      const ring = this.receive.get(participantId) ?? new Map<number, AllowedKey>();
      for (const key of keys) {
        const current = ring.get(key.slot);
        // A key the core does not hold, or whose epoch and generation were named with another
        // check, is no key: not allowed (fail closed).
        const check = this.trusted(checks, participantId, key);
        if (check === undefined) {
          if (sameKey(current?.key, key)) ring.delete(key.slot);
          continue;
        }
        if (!sameKey(current?.key, key)) {
          // A slot that now carries another epoch (or a new key for it) uses that key's windows.
          ring.set(key.slot, { key, check, streams: this.windowsOf(participantId, check) });
        } else if (current?.check !== check) {
          // Cannot happen (a binding never changes to another check); fail closed all the same.
          ring.delete(key.slot);
        }
      }
      if (ring.size > 0) this.receive.set(participantId, ring);
    }
    return true;
  }

  /** Before livekit decrypts a frame from `participantId` (undefined: no sender, refuse). */
  beforeDecrypt(participantId: string | undefined, frame: GuardedFrame): boolean {
    const verdict = this.admit(participantId, frame);
    if (verdict === "wait") this.refuseWaited(participantId, 1);
    return verdict === "pass";
  }

  /**
   * beforeDecrypt, except that a frame of a named sender under a key index it is not allowed (yet)
   * gets "wait" and is not counted: it may be offered again after the next commit (frameHold.ts),
   * and is counted by refuseWaited once it is given up.
   */
  admit(participantId: string | undefined, frame: GuardedFrame): "pass" | "wait" | "refused" {
    const data = new Uint8Array(frame.data);
    // DTX: an empty frame carries nothing and livekit passes it on undecrypted.
    if (data.byteLength === 0) return "pass";
    const trailer = trailerOf(data);
    // Only the reason changes for the SFU's own frames: what is refused stays the same.
    if (!trailer) return this.refusal(participantId, this.injectedOr(data, "notDecrypted"));
    const allowed =
      participantId === undefined ? undefined : this.receive.get(participantId)?.get(trailer.slot);
    if (participantId === undefined || !allowed) {
      const reason = this.injectedOr(data, "keyNotAllowed");
      return participantId === undefined || reason === "serverInjected"
        ? this.refusal(participantId, reason)
        : "wait";
    }
    if (allowed.streams.get(ssrcOf(trailer.iv))?.has(trailer.iv)) {
      return this.refusal(participantId, "replay");
    }
    this.decrypting.set(frame, {
      participantId,
      length: data.byteLength,
      allowed,
      iv: trailer.iv,
    });
    return "pass";
  }

  /** `count` frames of `participantId` that waited for a key not allowed in time: refused. */
  refuseWaited(participantId: string | undefined, count: number) {
    if (count > 0) this.refuse(participantId, "keyNotAllowed", count);
  }

  /**
   * After livekit: only a frame it really decrypted, under a key still allowed, never twice.
   * `sameSender` false: its track was re-pointed to another sender since beforeDecrypt, so livekit
   * may have decrypted it with other keys than it was judged against (decodePipelines.ts).
   */
  afterDecrypt(frame: GuardedFrame, sameSender = true): boolean {
    const pending = this.decrypting.get(frame);
    this.decrypting.delete(frame);
    if (!pending) return frame.data.byteLength === 0 || this.refuse(undefined, "notDecrypted");
    const { participantId, allowed, iv } = pending;
    if (!sameSender) return this.refuse(participantId, "keyNotAllowed");
    if (frame.data.byteLength !== pending.length - ENCRYPTION_OVERHEAD) {
      return this.refuse(participantId, "notDecrypted");
    }
    if (this.receive.get(participantId)?.get(allowed.key.slot) !== allowed) {
      return this.refuse(participantId, "keyNotAllowed");
    }
    const ssrc = ssrcOf(iv);
    let window = allowed.streams.get(ssrc);
    if (!window) {
      if (allowed.streams.size >= STREAMS_PER_KEY) return this.refuse(participantId, "replay");
      window = new ReplayWindow();
      allowed.streams.set(ssrc, window);
    }
    if (window.has(iv)) return this.refuse(participantId, "replay");
    window.add(iv);
    return true;
  }

  beforeEncrypt(frame: GuardedFrame) {
    this.encrypting.set(frame, { length: frame.data.byteLength, at: this.sendChanges });
  }

  /** After livekit encrypted one of our frames: does it leave? */
  afterEncrypt(participantId: string, frame: GuardedFrame): boolean {
    const before = this.encrypting.get(frame);
    this.encrypting.delete(frame);
    const data = new Uint8Array(frame.data);
    if (this.send.length === 0 || participantId !== this.local) return this.block();
    // DTX: livekit does not encrypt empty frames; they carry nothing.
    if (data.byteLength === 0) return true;
    if (before === undefined || data.byteLength !== before.length + ENCRYPTION_OVERHEAD) {
      return this.block();
    }
    const trailer = trailerOf(data);
    if (!trailer || !this.send.some(({ key }) => key.slot === trailer.slot)) return this.block();
    // Its slot's bytes changed while it was in livekit's encrypt: it may carry the old ones.
    if ((this.slotChangedAt.get(trailer.slot) ?? 0) > before.at) return this.block();
    return true;
  }

  /** Counts per sender id (ids only, never key bytes). */
  counts(): { receive: ({ participantId: string } & RefusedCounts)[]; sendBlocked: number } {
    return {
      receive: [...this.refused].map(([participantId, c]) => ({ participantId, ...c })),
      sendBlocked: this.sendBlocked,
    };
  }

  private injectedOr(data: Uint8Array, reason: keyof RefusedCounts): keyof RefusedCounts {
    const trailer = this.serverInjectedTrailer;
    if (!trailer || data.byteLength < trailer.byteLength) return reason;
    const tail = data.subarray(data.byteLength - trailer.byteLength);
    return tail.every((byte, i) => byte === trailer[i]) ? "serverInjected" : reason;
  }

  private refusal(participantId: string | undefined, reason: keyof RefusedCounts): "refused" {
    this.refuse(participantId, reason);
    return "refused";
  }

  private refuse(participantId: string | undefined, reason: keyof RefusedCounts, count = 1): false {
    const id = participantId ?? "";
    const counts = this.refused.get(id) ?? { ...ZERO };
    counts[reason] += count;
    this.refused.set(id, counts);
    this.version += 1;
    this.onRefused?.();
    return false;
  }

  private block(): false {
    this.sendBlocked += 1;
    this.version += 1;
    this.onRefused?.();
    return false;
  }
}
