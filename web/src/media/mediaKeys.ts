// The one path from the core's keys to livekit's (docs/media-keys.md, 4. The adapter): on every
// change of the session it recomputes the key plan (keyPlan.ts) and applies the difference to
// livekit's E2EE worker. Nothing else hands keys to livekit.
//
// livekit runs in per-participant key mode: every sender P encrypts with its own sender key
// K_{e,P}; receivers hold one key ring per sender, slot = e mod KEYRING_SIZE. We hand livekit raw
// sender keys and never let it ratchet or invent keys (its ratchet reuses one HKDF label for the
// frame key and the next chain key).
//
// Applying a plan, in this order:
// 1. at once: the worker's guard gets the new plan and from then on refuses whatever the plan no
//    longer allows (retired epochs, a leaver, "send nothing"), and getKeys() stops returning it;
// 2. the new keys are imported, then handed to livekit, each retired slot is overwritten with a
//    random throwaway key (so livekit's ring no longer holds the old key at all);
// 3. a barrier follows through livekit's own message queue; when it comes back the guard allows
//    the new plan's keys, which livekit then holds.
//
// Two livekit defaults we override:
// - BaseKeyProvider marks every key set with an explicit index as "current" (updateCurrentKeyIndex
//   = true), and the worker then switches that participant's encryption index. We emit SetKey
//   ourselves: false for receive keys, true only for our own sending key.
// - On reconnect (RoomEvent.SignalConnected) livekit re-posts getKeys() and marks as current the
//   entries at getLatestManuallySetKeyIndex(). getKeys() returns exactly the keys of the current
//   plan that livekit already holds, and the index is our sending slot (-1 when sending nothing),
//   so nothing retired comes back and look-ahead keys never become current.
import {
  BaseKeyProvider,
  createKeyMaterialFromBuffer,
  type KeyInfo,
  KeyProviderEvent,
} from "livekit-client";
import { KEYRING_SIZE } from "../core";
import { type BarrierMessage, type PlanMessage, sameKey } from "./guardProtocol";
import {
  diffPlans,
  EMPTY_PLAN,
  guardPlanOf,
  type KeySource,
  type MediaKeyPlan,
  type PlannedKey,
  planKeys,
  ringsOf,
} from "./keyPlan";

const LOG_KEPT = 60;

type GuardMessage = PlanMessage | BarrierMessage;

function rawKey(bytes: Uint8Array | undefined): ArrayBuffer {
  // A fresh ArrayBuffer of exactly the key bytes (WebCrypto wants an unshared buffer).
  return new Uint8Array(bytes ?? crypto.getRandomValues(new Uint8Array(32))).buffer;
}

export class MediaKeys extends BaseKeyProvider {
  /** The plan of the session as it is now; the guard already refuses what it does not allow. */
  private latest: MediaKeyPlan = EMPTY_PLAN;
  private latestGuardPlan = "";
  private latestId = 0;
  /** What livekit's rings hold (every SetKey for it has been posted). */
  private applied: MediaKeyPlan = EMPTY_PLAN;
  /** The key infos livekit holds, by participant and slot (for getKeys). */
  private readonly held = new Map<string, { key: PlannedKey; info: KeyInfo }>();
  private applying = false;
  private dirty = false;
  private source: KeySource | undefined;
  private post: ((message: GuardMessage) => void) | undefined;
  /** What was handed to livekit, newest last: ids, epochs and slots only, never key bytes. */
  readonly log: string[] = [];

  constructor() {
    super({
      sharedKey: false,
      // Never let livekit derive keys on its own after a decryption failure.
      ratchetWindowSize: 0,
      // Never mark a slot invalid: livekit only clears failure counts for "current" keys.
      failureTolerance: -1,
      keyringSize: KEYRING_SIZE,
    });
  }

  /** Follows `source` from now on; `post` reaches the E2EE worker (after livekit's init). */
  attach(source: KeySource, post: (message: GuardMessage) => void): () => void {
    this.source = source;
    this.post = post;
    const off = source.onChange(() => this.update());
    this.update();
    return () => {
      off();
      this.source = undefined;
    };
  }

  /** The plan currently in force (tests and the UI read it; no key bytes). */
  plan(): MediaKeyPlan {
    return this.latest;
  }

  override getKeys(): KeyInfo[] {
    const rings = ringsOf(this.latest);
    return [...this.held]
      .filter(([, entry]) =>
        sameKey(rings.get(entry.info.participantIdentity ?? "")?.get(entry.key.slot), entry.key),
      )
      .map(([, entry]) => entry.info);
  }

  override getLatestManuallySetKeyIndex(): number {
    const send = this.latest.send;
    const entry = send ? this.held.get(`${this.latest.selfId}/${send.slot}`) : undefined;
    return send && entry && sameKey(entry.key, send) ? send.slot : -1;
  }

  private update() {
    const source = this.source;
    const post = this.post;
    if (!source || !post) return;
    const next = planKeys(source.keyState());
    const guardPlan = guardPlanOf(next);
    const text = JSON.stringify(guardPlan);
    if (text === this.latestGuardPlan) return;
    this.latestGuardPlan = text;
    this.latest = next;
    this.latestId += 1;
    post({ kind: "hush:plan", data: { id: this.latestId, plan: guardPlan } });
    void this.apply();
  }

  private async apply() {
    if (this.applying) {
      this.dirty = true;
      return;
    }
    this.applying = true;
    try {
      do {
        this.dirty = false;
        await this.applyLatest();
      } while (this.dirty);
    } finally {
      this.applying = false;
    }
  }

  private async applyLatest() {
    const source = this.source;
    const post = this.post;
    if (!source || !post) return;
    const id = this.latestId;
    const target = this.latest;
    const { operations } = diffPlans(this.applied, target);
    // Key bytes now, from the same core state the plan was computed from.
    const jobs = operations.map((operation) => ({
      operation,
      bytes:
        operation.kind === "install"
          ? source.senderKey(operation.key.epoch, operation.participantId)
          : undefined,
    }));
    // livekit derives the AES-GCM frame key from this HKDF base key (salt "LKFrameEncryptionKey").
    const materials = await Promise.all(
      jobs.map((job) => createKeyMaterialFromBuffer(rawKey(job.bytes))),
    );
    jobs.forEach(({ operation, bytes }, i) => {
      const material = materials[i];
      if (!material) return;
      const slot = operation.kind === "install" ? operation.key.slot : operation.slot;
      const participantId = operation.participantId;
      const info: KeyInfo = { key: material, participantIdentity: participantId, keyIndex: slot };
      const id = `${participantId}/${slot}`;
      if (operation.kind === "install" && bytes) {
        this.held.set(id, { key: operation.key, info });
        this.emit(KeyProviderEvent.SetKey, info, operation.current);
        this.record(
          `${operation.current ? "send" : "recv"} ${participantId.slice(0, 4)} e${operation.key.epoch} i${slot}`,
        );
      } else {
        // A retirement, or a key the core no longer gives: the slot must not keep what it had.
        this.held.delete(id);
        this.emit(KeyProviderEvent.SetKey, info, false);
        this.record(`wipe ${participantId.slice(0, 4)} i${slot}`);
      }
    });
    this.applied = target;
    post({ kind: "hush:barrier", data: { id } });
  }

  private record(entry: string) {
    this.log.push(`${Date.now()} ${entry}`);
    if (this.log.length > LOG_KEPT) this.log.shift();
  }
}
