// Red team (round 42, helper-39): our own frames across a re-key of the sending slot. livekit's encodeFunction
// reads the key set at the current index when a frame starts encrypting and encrypts after an
// await; the guard's afterEncrypt judges a frame only by the slot its trailer names. When the key
// bytes at our sending slot change while that slot stays the sending slot (the core's "two leaders
// made the same epoch: the lower leader seq wins", key-schedule.ts switchToDelivered, or a switch
// from epoch e to e + 16), a frame whose encryption started under the old bytes and ends after
// the new plan's commit leaves under bytes the core no longer holds.
import { afterEach, describe, expect, it } from "vitest";
import { FrameWriter, openFrame, Pipe, settle, workerCalls } from "./worker-harness";

const { call } = workerCalls();

/** Holds crypto.subtle.encrypt of a plaintext of `length` bytes until `release()`. */
function slowEncryptOf(length: number) {
  const subtle = crypto.subtle as SubtleCrypto & { encrypt: SubtleCrypto["encrypt"] };
  const original = subtle.encrypt;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let started = 0;
  Object.defineProperty(subtle, "encrypt", {
    configurable: true,
    writable: true,
    value: async (algorithm: never, key: CryptoKey, data: BufferSource) => {
      const size = (data as ArrayBufferView).byteLength;
      const result = original.call(subtle, algorithm, key, data);
      if (size !== length) return result;
      started += 1;
      await gate;
      return result;
    },
  });
  return {
    release: () => open(),
    started: () => started,
    restore: () => {
      delete (subtle as unknown as Record<string, unknown>).encrypt;
    },
  };
}

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

describe("red team: our send key re-keyed in the same slot", () => {
  for (const how of ["same epoch, new key (lower-seq leader wins)", "epoch e to e + 16"] as const) {
    it(`a frame in livekit's encrypt across the re-key must not leave under the old bytes: ${how}`, async () => {
      const { self, session } = await call({ epochs: [1], sending: 1 });
      const outgoing = new Pipe("encode", self);
      await settle();
      const ours = new FrameWriter();
      await outgoing.write(ours.plain());
      await settle();
      expect(outgoing.out).toHaveLength(1);
      const oldKey = session.senderKey(1, self) as Uint8Array;
      const slow = slowEncryptOf(4000);
      restore = slow.restore;
      // A large frame (VP8 delta: 3 header bytes + 4000 encrypted) enters livekit's encrypt now,
      // under the key at our current index, epoch 1's.
      void outgoing.write(ours.plain(4003));
      await settle(5);
      expect(slow.started()).toBe(1);
      // The core replaces the key our sending slot carries; the old bytes are no longer held.
      let newEpoch = 1;
      if (how === "epoch e to e + 16") {
        newEpoch = 17;
        session.hold(17);
        session.drop(1);
        session.set({ sendingEpoch: 17 });
      } else {
        session.hold(1);
      }
      const newKey = session.senderKey(newEpoch, self) as Uint8Array;
      expect(session.senderKey(1, self)).not.toEqual(oldKey);
      // livekit installs the new bytes, the barrier comes back, the guard commits the plan.
      await settle(200);
      // WebCrypto hands the large frame's ciphertext back only now.
      slow.release();
      await settle(50);
      for (let i = 0; i < 2; i += 1) await outgoing.write(ours.plain());
      await settle();
      const afterSwitch = outgoing.out.slice(1);
      const underOld: number[] = [];
      for (const frame of afterSwitch) {
        if ((await openFrame(frame, oldKey)) !== undefined) underOld.push(frame.data.byteLength);
      }
      // Nothing may leave under bytes the core dropped; what leaves is under the new key.
      expect(underOld, "sizes of the frames that left under the old bytes").toEqual([]);
      for (const frame of afterSwitch) {
        expect(await openFrame(frame, newKey)).toBeDefined();
      }
    });
  }
});
