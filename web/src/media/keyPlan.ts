// The media key plan (docs/media-keys.md, 3. The key plan): a pure function
// from what the core holds to what livekit's key rings and the E2EE worker's guard must hold, and
// the difference between two plans. It is the only place that decides which (sender, slot) pairs
// carry which epoch; the adapter in mediaKeys.ts applies its output and decides nothing.
//
// Rules:
// - every verified remote sender P gets, for every epoch e the core holds, the slot keyIndexOf(e)
//   carrying K_{e,P}; nothing else;
// - we hold one key for ourselves: the epoch the core tells us to send with; sending epoch 0 (or an
//   epoch the core does not hold) means "send nothing";
// - two held epochs that share a slot (more than KEYRING_SIZE epochs apart) cannot both be in
//   livekit's ring: the newer one wins, the older one is simply not installed.
// No livekit import: this runs and is tested in Node.
import { KEYRING_SIZE, keyIndexOf } from "../core";
import { type GuardPlan, type PlannedKey, sameKey } from "./guardProtocol";

export type { PlannedKey } from "./guardProtocol";

/**
 * An epoch the core holds; `generation` changes whenever that epoch's key changes, and `check` is
 * the key's public check (the same bytes always have the same check, under any epoch or generation).
 */
export interface HeldKey {
  readonly epoch: number;
  readonly generation: number;
  readonly check: string;
}

/** What the plan is computed from, in media terms (the app maps the session onto this). */
export interface KeyState {
  readonly selfId: string;
  /** Verified members other than ourselves. */
  readonly senders: readonly string[];
  /** Epochs the core holds for decryption (current, look-ahead and recent past). */
  readonly held: readonly HeldKey[];
  /** The epoch to send with; 0 means send nothing. */
  readonly sendingEpoch: number;
}

/** Where the media layer reads the state and the key bytes. */
export interface KeySource {
  keyState(): KeyState;
  /** K_{epoch,P}, or undefined when the core no longer holds that epoch. */
  senderKey(epoch: number, participantId: string): Uint8Array | undefined;
  onChange(listener: () => void): () => void;
}

export interface MediaKeyPlan {
  readonly selfId: string;
  /** Per verified remote sender: its key ring, slot -> key. */
  readonly receive: ReadonlyMap<string, ReadonlyMap<number, PlannedKey>>;
  /** Our own sending key, or undefined: send nothing. */
  readonly send: PlannedKey | undefined;
  /** Every held epoch with its generation and check (the guard judges send keys and windows by it). */
  readonly held: ReadonlyMap<number, HeldKey>;
}

type KeyOperation =
  /** Put K_{epoch,P} into P's slot; `current` only for our own sending key. */
  | { kind: "install"; participantId: string; key: PlannedKey; current: boolean }
  /** Overwrite P's slot with a throwaway key: livekit must no longer hold what was there. */
  | { kind: "retire"; participantId: string; slot: number };

interface MediaKeyDiff {
  /** Installs first, then retirements (our own new sending key lands before the old is wiped). */
  readonly operations: readonly KeyOperation[];
}

export const EMPTY_PLAN: MediaKeyPlan = {
  selfId: "",
  receive: new Map(),
  send: undefined,
  held: new Map(),
};

function isEpoch(value: number): boolean {
  return Number.isInteger(value) && value > 0 && value <= 0xffffffff;
}

export function planKeys(state: KeyState): MediaKeyPlan {
  const held = new Map<number, HeldKey>();
  for (const key of state.held) if (isEpoch(key.epoch)) held.set(key.epoch, key);
  const ring = new Map<number, PlannedKey>();
  for (const [epoch, { generation }] of [...held].sort((a, b) => a[0] - b[0])) {
    const slot = keyIndexOf(epoch, KEYRING_SIZE);
    ring.set(slot, { slot, epoch, generation });
  }
  const receive = new Map<string, ReadonlyMap<number, PlannedKey>>();
  for (const participantId of state.senders) {
    if (participantId === "" || participantId === state.selfId) continue;
    receive.set(participantId, new Map(ring));
  }
  const sendGeneration = held.get(state.sendingEpoch)?.generation;
  const send =
    state.selfId !== "" && isEpoch(state.sendingEpoch) && sendGeneration !== undefined
      ? {
          slot: keyIndexOf(state.sendingEpoch, KEYRING_SIZE),
          epoch: state.sendingEpoch,
          generation: sendGeneration,
        }
      : undefined;
  return { selfId: state.selfId, receive, send, held };
}

/** Every (participant, slot) -> key of a plan, our own sending key included. */
export function ringsOf(plan: MediaKeyPlan): Map<string, Map<number, PlannedKey>> {
  const rings = new Map<string, Map<number, PlannedKey>>();
  for (const [participantId, ring] of plan.receive) rings.set(participantId, new Map(ring));
  if (plan.send) rings.set(plan.selfId, new Map([[plan.send.slot, plan.send]]));
  return rings;
}

export function diffPlans(previous: MediaKeyPlan, next: MediaKeyPlan): MediaKeyDiff {
  const before = ringsOf(previous);
  const after = ringsOf(next);
  const installs: KeyOperation[] = [];
  const retires: KeyOperation[] = [];
  for (const [participantId, ring] of after) {
    const old = before.get(participantId);
    const current = participantId === next.selfId;
    for (const key of ring.values()) {
      if (!sameKey(old?.get(key.slot), key)) {
        installs.push({ kind: "install", participantId, key, current });
      }
    }
  }
  for (const [participantId, ring] of before) {
    const kept = after.get(participantId);
    for (const slot of ring.keys()) {
      if (!kept?.has(slot)) retires.push({ kind: "retire", participantId, slot });
    }
  }
  return { operations: [...installs, ...retires] };
}

/** What the E2EE worker's guard is told: per sender the allowed keys, our send key, held keys. */
export function guardPlanOf(plan: MediaKeyPlan): GuardPlan {
  return {
    local: plan.selfId,
    send: plan.send ?? null,
    held: [...plan.held.values()].map(({ epoch, generation, check }) => ({
      epoch,
      generation,
      check,
    })),
    senders: [...plan.receive].map(([participantId, ring]) => ({
      participantId,
      keys: [...ring.values()],
    })),
  };
}
