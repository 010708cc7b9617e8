// The E2EE worker's frame guard on its own (no livekit): the plan's two steps, the replay window's
// bounds, and the send side's rules. livekit's part is stood in for by shortening a frame by the
// encryption overhead (a decrypted frame) or leaving it as it was (a pass-through).
import { describe, expect, it } from "vitest";
import {
  FrameGuard,
  REPLAY_WINDOW,
  RETIRED_WINDOWS_KEPT,
  STREAMS_PER_KEY,
} from "../../web/src/media/frameGuard";
import type { GuardPlan } from "../../web/src/media/guardProtocol";
import { frame, MEMBER_A, receive } from "./guard-frames";

const A = MEMBER_A;
const SELF = "self";
/** A stand-in for a key's public check (22 base64url characters), one per epoch. */
const checkOf = (epoch: number) => `${epoch}`.padStart(22, "k");

function plan(overrides: Partial<GuardPlan> = {}): GuardPlan {
  return {
    local: SELF,
    send: { slot: 1, epoch: 1, generation: 1 },
    held: [
      { epoch: 1, generation: 1, check: checkOf(1) },
      { epoch: 2, generation: 2, check: checkOf(2) },
    ],
    senders: [
      {
        participantId: A,
        keys: [
          { slot: 1, epoch: 1, generation: 1 },
          { slot: 2, epoch: 2, generation: 2 },
        ],
      },
    ],
    ...overrides,
  };
}

function committed(p = plan()) {
  const guard = new FrameGuard();
  guard.restrict(1, p);
  guard.commit(1);
  return guard;
}

describe("plans", () => {
  it("allow new keys only at the barrier, retire at once", () => {
    const guard = new FrameGuard();
    guard.restrict(1, plan());
    expect(receive(guard, frame(1, 100))).toBe(false);
    expect(guard.commit(2)).toBe(false);
    expect(guard.commit(1)).toBe(true);
    expect(receive(guard, frame(1, 200))).toBe(true);
    guard.restrict(2, plan({ senders: [] }));
    expect(receive(guard, frame(1, 300))).toBe(false);
  });

  it("a barrier of an older plan does not allow a newer plan's keys", () => {
    const guard = committed();
    guard.restrict(2, plan({ senders: [{ participantId: A, keys: [] }] }));
    guard.restrict(3, plan());
    expect(guard.commit(2)).toBe(false);
    expect(receive(guard, frame(1, 100))).toBe(false);
    expect(guard.commit(3)).toBe(true);
    expect(receive(guard, frame(1, 100))).toBe(true);
  });

  it("a slot that gets a new key is refused until the barrier, and starts a fresh window", () => {
    const guard = committed();
    expect(receive(guard, frame(1, 100))).toBe(true);
    const next = plan({
      held: [{ epoch: 17, generation: 5, check: checkOf(17) }],
      senders: [{ participantId: A, keys: [{ slot: 1, epoch: 17, generation: 5 }] }],
    });
    guard.restrict(2, next);
    expect(receive(guard, frame(1, 200))).toBe(false);
    guard.commit(2);
    // The same IV under the new key is a new frame, not a replay.
    expect(receive(guard, frame(1, 100))).toBe(true);
  });
});

describe("keys the core let go of", () => {
  const onlyEpoch2 = () =>
    plan({
      held: [{ epoch: 2, generation: 2, check: checkOf(2) }],
      senders: [{ participantId: A, keys: [{ slot: 2, epoch: 2, generation: 2 }] }],
    });
  /** Epoch 1 held again with the same key bytes (same check), as a new generation. */
  const epoch1Again = (generation: number) =>
    plan({
      held: [{ epoch: 1, generation, check: checkOf(1) }],
      senders: [{ participantId: A, keys: [{ slot: 1, epoch: 1, generation }] }],
    });

  it("the same key bytes held again go on from their streams' newest frame: replays stay out", () => {
    const guard = committed();
    for (let i = 0; i < 5; i += 1) expect(receive(guard, frame(1, 100 + i * 10))).toBe(true);
    guard.restrict(2, onlyEpoch2());
    guard.commit(2);
    guard.restrict(3, epoch1Again(7));
    guard.commit(3);
    for (let i = 0; i < 5; i += 1) expect(receive(guard, frame(1, 100 + i * 10))).toBe(false);
    // A new frame on that stream, and a new stream, are no replays.
    expect(receive(guard, frame(1, 150))).toBe(true);
    expect(receive(guard, frame(1, 100, 8))).toBe(true);
    expect(guard.counts().receive[0]?.replay).toBe(5);
  });

  it("another key for the same epoch (a new check) starts fresh", () => {
    const guard = committed();
    expect(receive(guard, frame(1, 100))).toBe(true);
    guard.restrict(2, onlyEpoch2());
    guard.commit(2);
    guard.restrict(
      3,
      plan({
        held: [{ epoch: 1, generation: 9, check: checkOf(101) }],
        senders: [{ participantId: A, keys: [{ slot: 1, epoch: 1, generation: 9 }] }],
      }),
    );
    guard.commit(3);
    expect(receive(guard, frame(1, 100))).toBe(true);
  });

  it(`remembers the newest ${RETIRED_WINDOWS_KEPT} such keys per sender and key, no more`, () => {
    const guard = committed();
    expect(receive(guard, frame(1, 100))).toBe(true);
    guard.restrict(2, onlyEpoch2());
    guard.commit(2);
    // Other keys come and go after it, each with a frame accepted.
    for (let i = 0; i < RETIRED_WINDOWS_KEPT; i += 1) {
      const epoch = 1000 + i;
      guard.restrict(
        3 + i,
        plan({
          held: [{ epoch, generation: 1, check: checkOf(epoch) }],
          senders: [{ participantId: A, keys: [{ slot: 3, epoch, generation: 1 }] }],
        }),
      );
      guard.commit(3 + i);
      expect(receive(guard, frame(3, 100))).toBe(true);
    }
    guard.restrict(1e6, onlyEpoch2());
    guard.commit(1e6);
    // The first key's floor was the oldest and is gone: its replay is no longer recognised.
    guard.restrict(1e6 + 1, epoch1Again(3));
    guard.commit(1e6 + 1);
    expect(receive(guard, frame(1, 100))).toBe(true);
  });

  it("a sender key whose epoch the core does not hold is no key: refused", () => {
    const guard = committed(
      plan({
        held: [{ epoch: 2, generation: 2, check: checkOf(2) }],
        senders: [
          {
            participantId: A,
            keys: [
              { slot: 1, epoch: 1, generation: 1 },
              { slot: 2, epoch: 2, generation: 2 },
            ],
          },
        ],
      }),
    );
    expect(receive(guard, frame(1, 100))).toBe(false);
    expect(receive(guard, frame(2, 100))).toBe(true);
  });
});

describe("receive", () => {
  it("counts the SFU's own frames apart, refusing them all the same", () => {
    const sif = new Uint8Array([0x4c, 0x4b, 0x52, 0x4f, 0x43, 0x4b, 0x53, 0x21]);
    const blank = () => ({ data: new Uint8Array([0x90, 0x00, 0x00, ...sif]).buffer });
    const unmarked = committed();
    expect(unmarked.beforeDecrypt(A, blank())).toBe(false);
    const guard = committed();
    guard.setServerInjectedTrailer(sif);
    expect(guard.beforeDecrypt(A, blank())).toBe(false);
    expect(guard.beforeDecrypt(A, blank())).toBe(false);
    // Not ending with the trailer: an ordinary refusal.
    expect(guard.beforeDecrypt(A, { data: new Uint8Array([1, 2, 3]).buffer })).toBe(false);
    expect(unmarked.counts().receive).toEqual([
      { participantId: A, keyNotAllowed: 0, replay: 0, notDecrypted: 1, serverInjected: 0 },
    ]);
    expect(guard.counts().receive).toEqual([
      { participantId: A, keyNotAllowed: 0, replay: 0, notDecrypted: 1, serverInjected: 2 },
    ]);
  });

  it("never refuses a frame it would let through because it ends like the SFU's", () => {
    const guard = committed();
    // A trailer that every frame under key index 1 ends with.
    guard.setServerInjectedTrailer(new Uint8Array([12, 1]));
    expect(receive(guard, frame(1, 100))).toBe(true);
    expect(guard.counts().receive).toEqual([]);
    // From a sender with no allowed key it is refused, and then named as the SFU's.
    expect(receive(guard, frame(1, 101), "stranger")).toBe(false);
    expect(guard.counts().receive).toEqual([
      {
        participantId: "stranger",
        keyNotAllowed: 0,
        replay: 0,
        notDecrypted: 0,
        serverInjected: 1,
      },
    ]);
  });

  it("refuses pass-throughs: a frame that comes back with its length unchanged", () => {
    const guard = committed();
    const f = frame(1, 100);
    expect(guard.beforeDecrypt(A, f)).toBe(true);
    expect(guard.afterDecrypt(f)).toBe(false);
    expect(guard.counts().receive).toEqual([
      { participantId: A, keyNotAllowed: 0, replay: 0, notDecrypted: 1, serverInjected: 0 },
    ]);
  });

  it("refuses frames that never went through the first filter, and malformed ones", () => {
    const guard = committed();
    expect(guard.afterDecrypt({ data: new ArrayBuffer(50) })).toBe(false);
    const short = { data: new Uint8Array([1, 2, 12, 1]).buffer };
    expect(guard.beforeDecrypt(A, short)).toBe(false);
    const wrongIv = frame(1, 100);
    new Uint8Array(wrongIv.data)[wrongIv.data.byteLength - 2] = 16;
    expect(guard.beforeDecrypt(A, wrongIv)).toBe(false);
  });

  it("keeps replays out beyond the exact window through the timestamp floor, across the wrap", () => {
    const guard = committed();
    // RTP timestamps start just below 2^32 and wrap while the window fills.
    const at = (i: number) => (2 ** 32 - 20_000 + i * 3000) >>> 0;
    const first = frame(1, at(0));
    const replayOfFirst = frame(1, at(0));
    expect(receive(guard, first)).toBe(true);
    for (let i = 1; i <= REPLAY_WINDOW + 10; i += 1) {
      expect(receive(guard, frame(1, at(i), 7, i))).toBe(true);
    }
    // Evicted from the exact set, still refused by the floor.
    expect(receive(guard, replayOfFirst)).toBe(false);
    expect(receive(guard, frame(1, at(5), 7, 5))).toBe(false);
    // Still in the exact set.
    expect(receive(guard, frame(1, at(REPLAY_WINDOW), 7, REPLAY_WINDOW))).toBe(false);
    // Newer frames keep flowing.
    expect(receive(guard, frame(1, at(REPLAY_WINDOW + 11), 7, 1))).toBe(true);
  });

  it("bounds the streams per key", () => {
    const guard = committed();
    for (let ssrc = 0; ssrc < STREAMS_PER_KEY; ssrc += 1) {
      expect(receive(guard, frame(1, 100, ssrc))).toBe(true);
    }
    expect(receive(guard, frame(1, 100, 999))).toBe(false);
    expect(receive(guard, frame(2, 100, 999))).toBe(true);
  });

  it("a key retired while livekit decrypted the frame: refused after decryption", () => {
    const guard = committed();
    const f = frame(1, 100);
    expect(guard.beforeDecrypt(A, f)).toBe(true);
    guard.restrict(2, plan({ senders: [] }));
    f.data = new ArrayBuffer(f.data.byteLength - 30);
    expect(guard.afterDecrypt(f)).toBe(false);
  });
});

describe("send", () => {
  function encrypted(guard: FrameGuard, slot: number, participantId = SELF) {
    const plain = { data: new ArrayBuffer(100) };
    guard.beforeEncrypt(plain);
    plain.data = frame(slot, 1).data;
    return guard.afterEncrypt(participantId, plain);
  }

  it("lets our frames leave only under the allowed send key, and only ours", () => {
    const guard = committed();
    expect(encrypted(guard, 1)).toBe(true);
    expect(encrypted(guard, 2)).toBe(false);
    expect(encrypted(guard, 1, "someone-else")).toBe(false);
    // livekit passing our plaintext through (encryption off) never leaves.
    const plain = { data: frame(1, 1).data };
    guard.beforeEncrypt(plain);
    expect(guard.afterEncrypt(SELF, plain)).toBe(false);
  });

  it("send nothing stops every frame at once, empty ones included", () => {
    const guard = committed();
    guard.restrict(2, plan({ send: null }));
    expect(encrypted(guard, 1)).toBe(false);
    const empty = { data: new ArrayBuffer(0) };
    guard.beforeEncrypt(empty);
    expect(guard.afterEncrypt(SELF, empty)).toBe(false);
    expect(guard.counts().sendBlocked).toBe(2);
  });

  it("during a switch the previous key finishes until the barrier, only while the core holds it", () => {
    const guard = committed();
    guard.restrict(2, plan({ send: { slot: 2, epoch: 2, generation: 2 } }));
    expect(encrypted(guard, 1)).toBe(true);
    expect(encrypted(guard, 2)).toBe(false);
    guard.commit(2);
    expect(encrypted(guard, 1)).toBe(false);
    expect(encrypted(guard, 2)).toBe(true);
    // A switch away from a key the core dropped: nothing under it, even before the barrier.
    guard.restrict(3, plan({ send: { slot: 3, epoch: 3, generation: 3 }, held: [] }));
    expect(encrypted(guard, 2)).toBe(false);
  });
});
