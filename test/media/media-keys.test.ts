// The key adapter (web/src/media/mediaKeys.ts) alone, with a fake at the livekit boundary: a key
// ring that takes SetKey events the way livekit's E2EEManager does, and the messages the adapter
// posts to the E2EE worker's guard. The checks are on what the ring holds (which sender key, in
// which slot, which one is current), on getKeys() after a reconnect, and on the barrier: it is
// posted only once livekit holds every key of the plan it names.
import { type KeyInfo, KeyProviderEvent } from "livekit-client";
import { describe, expect, it } from "vitest";
import { KEYRING_SIZE, senderKeyOf } from "../../web/src/core";
import type { BarrierMessage, PlanMessage } from "../../web/src/media/guardProtocol";
import { MediaKeys } from "../../web/src/media/mediaKeys";
import { FakeKeySource } from "../support/fake-key-source";
import { randomId } from "../support/ids";

/** HKDF output of a key, so two HKDF CryptoKeys (not extractable) can be compared. */
async function fingerprint(key: CryptoKey | Uint8Array): Promise<string> {
  const material =
    key instanceof Uint8Array
      ? await crypto.subtle.importKey("raw", new Uint8Array(key), "HKDF", false, ["deriveBits"])
      : key;
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(1), info: new Uint8Array(1) },
    material,
    256,
  );
  return Buffer.from(bits).toString("hex");
}

/** livekit's side: one ring per participant, the current slot per participant, in event order. */
class FakeKeyRing {
  readonly rings = new Map<string, Map<number, CryptoKey>>();
  readonly current = new Map<string, number>();
  /** Everything in the order it happened: "set <id> <slot>", "plan <id>", "barrier <id>". */
  readonly events: string[] = [];

  constructor(keys: MediaKeys) {
    keys.on(KeyProviderEvent.SetKey, (info: KeyInfo, updateCurrent?: boolean) => {
      const id = info.participantIdentity ?? "";
      const slot = info.keyIndex ?? 0;
      const ring = this.rings.get(id) ?? new Map<number, CryptoKey>();
      ring.set(slot, info.key as CryptoKey);
      this.rings.set(id, ring);
      if (updateCurrent) this.current.set(id, slot);
      this.events.push(`set ${id} ${slot}`);
    });
  }

  post = (message: PlanMessage | BarrierMessage) =>
    this.events.push(`${message.kind === "hush:plan" ? "plan" : "barrier"} ${message.data.id}`);

  /** Whether `id`'s slot for `epoch` holds exactly K_{epoch,id}. */
  async holds(id: string, epoch: number, groupKey: Uint8Array): Promise<boolean> {
    const key = this.rings.get(id)?.get(epoch % KEYRING_SIZE);
    if (!key) return false;
    return (await fingerprint(key)) === (await fingerprint(senderKeyOf(groupKey, id)));
  }
}

/** Lets the adapter's key imports (WebCrypto, asynchronous) finish. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

function call() {
  const self = randomId();
  const bob = randomId();
  const source = new FakeKeySource(self);
  const keys = new MediaKeys();
  const ring = new FakeKeyRing(keys);
  const detach = keys.attach(source, ring.post);
  const key1 = crypto.getRandomValues(new Uint8Array(32));
  source.set({ senders: [bob] });
  source.hold(1, key1);
  source.set({ sendingEpoch: 1 });
  return { self, bob, source, keys, ring, detach, key1 };
}

describe("MediaKeys, the one path from the core's keys to livekit", () => {
  it("gives livekit each verified sender's key and our own, only ours as current", async () => {
    const { self, bob, keys, ring, key1 } = call();
    await settle();
    expect(await ring.holds(bob, 1, key1)).toBe(true);
    expect(await ring.holds(self, 1, key1)).toBe(true);
    expect([...ring.current]).toEqual([[self, 1 % KEYRING_SIZE]]);
    expect(keys.getLatestManuallySetKeyIndex()).toBe(1 % KEYRING_SIZE);
  });

  it("posts the plan before any key and each barrier after the keys of its plan", async () => {
    const { ring } = call();
    await settle();
    const lastPlan = ring.events.filter((e) => e.startsWith("plan")).at(-1);
    const lastBarrier = ring.events.filter((e) => e.startsWith("barrier")).at(-1);
    expect(ring.events[0]).toMatch(/^plan /);
    // Coalesced or not, the last barrier names the last plan, and no key follows it.
    expect(lastBarrier?.slice("barrier ".length)).toBe(lastPlan?.slice("plan ".length));
    expect(ring.events.at(-1)).toBe(lastBarrier);
    for (const [i, event] of ring.events.entries()) {
      if (!event.startsWith("barrier")) continue;
      const id = Number(event.split(" ")[1]);
      const planAt = ring.events.indexOf(`plan ${id}`);
      expect(planAt).toBeGreaterThanOrEqual(0);
      expect(planAt).toBeLessThan(i);
    }
  });

  it("wipes a leaver's slots: its ring no longer holds any key it had, getKeys() omits it", async () => {
    const { bob, source, keys, ring, key1 } = call();
    await settle();
    source.set({ senders: [] });
    await settle();
    expect(await ring.holds(bob, 1, key1)).toBe(false);
    expect(ring.rings.get(bob)?.has(1 % KEYRING_SIZE)).toBe(true); // overwritten, not left as it was
    expect(keys.getKeys().map((info) => info.participantIdentity)).not.toContain(bob);
  });

  it("on send nothing, no index is current for a reconnect, and the old key is wiped", async () => {
    const { self, source, keys, ring, key1 } = call();
    await settle();
    source.set({ sendingEpoch: 0 });
    await settle();
    expect(keys.getLatestManuallySetKeyIndex()).toBe(-1);
    expect(keys.plan().send).toBeUndefined();
    expect(await ring.holds(self, 1, key1)).toBe(false);
    expect(keys.getKeys().map((info) => info.participantIdentity)).not.toContain(self);
  });

  it("a rotation installs the new epoch's keys and retires the dropped epoch's slot", async () => {
    const { self, bob, source, keys, ring, key1 } = call();
    await settle();
    const key2 = crypto.getRandomValues(new Uint8Array(32));
    source.hold(2, key2);
    source.set({ sendingEpoch: 2 });
    source.drop(1);
    await settle();
    expect(await ring.holds(bob, 2, key2)).toBe(true);
    expect(await ring.holds(self, 2, key2)).toBe(true);
    expect(await ring.holds(bob, 1, key1)).toBe(false);
    expect(ring.current.get(self)).toBe(2 % KEYRING_SIZE);
    // What livekit re-posts on reconnect: exactly the plan's keys, one per sender and epoch held.
    const reposted = keys.getKeys().map((info) => `${info.participantIdentity}/${info.keyIndex}`);
    expect(reposted.sort()).toEqual([`${bob}/2`, `${self}/2`].sort());
  });

  it("after detach, the session's changes no longer reach livekit", async () => {
    const { bob, source, ring, detach } = call();
    await settle();
    detach();
    const before = ring.events.length;
    source.set({ senders: [] });
    source.hold(3);
    await settle();
    expect(ring.events.length).toBe(before);
    expect(ring.rings.get(bob)?.size).toBe(1);
  });
});
