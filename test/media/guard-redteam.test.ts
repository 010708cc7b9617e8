// Red-team attacks on the frame guard's replay windows named by key check (frameGuard.ts, docs/
// media-keys.md "6. The frame guard"): retired keys leave per-stream floors behind, the same key
// bytes held again resume from them. Every test asserts the secure behaviour (or, for legitimate
// flows, that media still passes): a failing test means the attack succeeds.
import { describe, expect, it } from "vitest";
import { FrameGuard, REPLAY_WINDOW, RETIRED_WINDOWS_KEPT } from "../../web/src/media/frameGuard";
import type { GuardPlan } from "../../web/src/media/guardProtocol";
import { frame, MEMBER_A, receive } from "./guard-frames";
import {
  copyFrame,
  deliver,
  type FakeFrame,
  FrameWriter,
  Pipe,
  settle,
  framesFrom,
  workerCalls,
} from "./worker-harness";

const A = MEMBER_A;
const B = "member-b";
const SELF = "self";
/** A stand-in for a key's public check (22 base64url characters). */
const checkOf = (n: number) => `${n}`.padStart(22, "k");
const X = checkOf(1);
const W = checkOf(2);
const Y = checkOf(99);

interface Held {
  epoch: number;
  generation: number;
  check: string;
}
const held = (epoch: number, generation: number, check: string): Held => ({
  epoch,
  generation,
  check,
});
const slotOf = (epoch: number) => epoch % 16;

/** A plan as planKeys makes it: every sender gets every held epoch in its slot. */
function planOf(keys: Held[], senders: string[] = [A], extra: Partial<GuardPlan> = {}): GuardPlan {
  return {
    local: SELF,
    send: null,
    held: keys,
    senders: senders.map((participantId) => ({
      participantId,
      keys: keys.map(({ epoch, generation }) => ({ slot: slotOf(epoch), epoch, generation })),
    })),
    ...extra,
  };
}

let planId = 0;
/** One plan through both steps (restrict at the plan message, commit at its barrier). */
function apply(guard: FrameGuard, p: GuardPlan) {
  planId += 1;
  guard.restrict(planId, p);
  expect(guard.commit(planId)).toBe(true);
}

function committed(p: GuardPlan) {
  const guard = new FrameGuard();
  apply(guard, p);
  return guard;
}

/** How many of the frames at `timestamps` (slot, ssrc) the guard lets through. */
function accepted(guard: FrameGuard, slot: number, timestamps: number[], ssrc = 7, who = A) {
  return timestamps.filter((t) => receive(guard, frame(slot, t, ssrc), who)).length;
}

/**
 * The frames offered under a key once its bytes are held again, after `meanwhile` of them were
 * accepted under it: what was accepted is refused, and what never was passes once (twice offered).
 * Only "never twice" is the guard's to promise: before decryption nothing tells a frame the SFU
 * withheld while the core did not hold the key from a new frame under the same bytes, and floors
 * hold the newest timestamp accepted (raising them from frames never decrypted would let anyone
 * move them).
 */
function neverTwice(guard: FrameGuard, slot: number, timestamps: number[], meanwhile: number) {
  const first = accepted(guard, slot, timestamps);
  return first === timestamps.length - meanwhile && accepted(guard, slot, timestamps) === 0;
}

const recordedTimes = [100, 110, 120, 130, 140];

describe("red team (guard): keys the core stopped holding", () => {
  it("a sender key the plan still lists after the core let go of its epoch must not stay allowed", () => {
    const guard = committed(planOf([held(1, 1, X), held(2, 2, W)]));
    expect(receive(guard, frame(1, 100))).toBe(true);
    // held no longer has epoch 1, the senders list still names it (a page bug, or a plan computed
    // from a stale roster): commit() skips it, but restrict() kept the old allowed key.
    apply(
      guard,
      planOf([held(2, 2, W)], [A], {
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
    expect(receive(guard, frame(1, 200))).toBe(false);
  });

  it("...and frames accepted under it meanwhile escape the floors: replayed once the key bytes are held again", () => {
    const guard = committed(planOf([held(1, 1, X), held(2, 2, W)]));
    expect(receive(guard, frame(1, 100))).toBe(true);
    apply(
      guard,
      planOf([held(2, 2, W)], [A], {
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
    // Whatever gets through here lands in windows detached from the (already taken) floors.
    const meanwhile = accepted(guard, 1, [200, 210, 220]);
    // The same key bytes held again as epoch 3: the SFU rewrites the key index to 3.
    apply(guard, planOf([held(2, 2, W), held(3, 9, X)]));
    expect(accepted(guard, 3, [100])).toBe(0);
    expect(neverTwice(guard, 3, [200, 210, 220], meanwhile)).toBe(true);
  });

  it("an epoch whose check changes without a new generation (the core state read mid-carryOut): frames under the replaced key must not pass", () => {
    const guard = committed(planOf([held(1, 1, X)]));
    expect(receive(guard, frame(1, 100))).toBe(true);
    // installed[1] already holds the new key Y (its check), generations not bumped yet: the plan
    // diff sees the same (slot, epoch, generation) and livekit keeps decrypting with X.
    apply(guard, planOf([held(1, 1, Y)]));
    expect(accepted(guard, 1, [200, 210, 220])).toBe(0);
  });

  it("...and the frames accepted under the replaced key in that state replay once its bytes are held again", () => {
    const guard = committed(planOf([held(1, 1, X)]));
    expect(receive(guard, frame(1, 100))).toBe(true);
    apply(guard, planOf([held(1, 1, Y)]));
    // Whatever gets through here is recorded in no window of X's that its floors reach.
    const meanwhile = accepted(guard, 1, [200, 210, 220]);
    // The keys event: a new generation for Y; later X's bytes held again as epoch 3.
    apply(guard, planOf([held(1, 2, Y)]));
    apply(guard, planOf([held(1, 2, Y), held(3, 7, X)]));
    expect(accepted(guard, 3, [100])).toBe(0);
    expect(neverTwice(guard, 3, [200, 210, 220], meanwhile)).toBe(true);
  });

  it("floors of a sender who was off the roster when the key was held again must last while the key is held (not be evicted as 'retired')", () => {
    const guard = committed(planOf([held(1, 1, X)], [A, B]));
    expect(accepted(guard, 1, recordedTimes)).toBe(recordedTimes.length);
    // X let go of: A's windows shrink to floors.
    apply(guard, planOf([held(2, 2, W)], [A, B]));
    // X held again (epoch 3) while A is off the roster (a reconnect): A's floors stay in the
    // retired list, though the key is held.
    apply(guard, planOf([held(2, 2, W), held(3, 7, X)], [B]));
    // B's keys come and go, each with a frame: RETIRED_WINDOWS_KEPT retirements.
    for (let i = 0; i <= RETIRED_WINDOWS_KEPT; i += 1) {
      const epoch = 16 * (100 + i) + 5;
      apply(
        guard,
        planOf([held(2, 2, W), held(3, 7, X), held(epoch, 1, `o${i}`.padStart(22, "q"))], [B]),
      );
      expect(receive(guard, frame(5, 100), B)).toBe(true);
    }
    // A comes back, X held throughout: the SFU replays A's recorded frames under index 3.
    apply(guard, planOf([held(2, 2, W), held(3, 7, X)], [A, B]));
    expect(accepted(guard, 3, recordedTimes)).toBe(0);
  });
});

describe("red team (guard): send side", () => {
  it("our send key must be one the core holds (commit allows plan.send without looking at held)", () => {
    const guard = committed(
      planOf([held(2, 2, W)], [A], { send: { slot: 1, epoch: 1, generation: 1 } }),
    );
    const plain = { data: new ArrayBuffer(100) };
    guard.beforeEncrypt(plain);
    plain.data = frame(1, 1).data;
    expect(guard.afterEncrypt(SELF, plain)).toBe(false);
  });
});

describe("red team (guard): attacks refused", () => {
  it("two epochs share a check while both are held: a replay with the key index rewritten meets the same windows", () => {
    const guard = committed(planOf([held(1, 1, X), held(3, 4, X)]));
    expect(accepted(guard, 1, recordedTimes)).toBe(5);
    expect(accepted(guard, 3, recordedTimes)).toBe(0);
    // Epoch 1 goes, epoch 3 (same bytes) stays: the windows stay live.
    apply(guard, planOf([held(3, 4, X)]));
    expect(accepted(guard, 3, recordedTimes)).toBe(0);
    expect(accepted(guard, 3, [150])).toBe(1);
  });

  it("several streams: each stream resumes from its own floor", () => {
    const guard = committed(planOf([held(1, 1, X)]));
    expect(accepted(guard, 1, [900, 1000], 7)).toBe(2);
    expect(accepted(guard, 1, [40, 50], 8)).toBe(2);
    expect(accepted(guard, 1, [5_000_000], 9)).toBe(1);
    apply(guard, planOf([held(2, 2, W)]));
    apply(guard, planOf([held(2, 2, W), held(5, 3, X)]));
    expect(accepted(guard, 5, [900, 1000], 7)).toBe(0);
    expect(accepted(guard, 5, [40, 50], 8)).toBe(0);
    expect(accepted(guard, 5, [5_000_000], 9)).toBe(0);
    // Legitimate: each stream goes on past its own floor, and a new stream starts.
    expect(accepted(guard, 5, [60], 8)).toBe(1);
    expect(accepted(guard, 5, [1010], 7)).toBe(1);
    expect(accepted(guard, 5, [10], 10)).toBe(1);
  });

  it("timestamps that wrap around 2^32 across retirement and re-hold", () => {
    const guard = committed(planOf([held(1, 1, X)]));
    const at = (i: number) => (0xfffff000 + i * 3000) >>> 0;
    const times = [0, 1, 2, 3, 4].map(at);
    expect(accepted(guard, 1, times)).toBe(5);
    expect(at(4)).toBeLessThan(0x10000);
    apply(guard, planOf([held(2, 2, W)]));
    apply(guard, planOf([held(2, 2, W), held(4, 1, X)]));
    expect(accepted(guard, 4, times)).toBe(0);
    // Just before the wrap and older: refused by the floor (it is after the wrap).
    expect(accepted(guard, 4, [0xffffffff, 0x80000000 + at(4) + 1])).toBe(0);
    expect(accepted(guard, 4, [at(5)])).toBe(1);
  });

  it("a floor seeds a window, then the exact set fills and evicts", () => {
    const guard = committed(planOf([held(1, 1, X)]));
    expect(accepted(guard, 1, recordedTimes)).toBe(5);
    apply(guard, planOf([held(2, 2, W)]));
    apply(guard, planOf([held(2, 2, W), held(6, 2, X)]));
    const later = (i: number) => 1000 + i * 10;
    for (let i = 0; i <= REPLAY_WINDOW + 10; i += 1) {
      expect(receive(guard, frame(6, later(i)))).toBe(true);
    }
    expect(accepted(guard, 6, recordedTimes)).toBe(0);
    expect(accepted(guard, 6, [later(0), later(5), later(REPLAY_WINDOW)])).toBe(0);
    expect(accepted(guard, 6, [later(REPLAY_WINDOW + 11)])).toBe(1);
    // Retired and held again once more: the floor is the newest, not the seeded one.
    apply(guard, planOf([held(2, 2, W)]));
    apply(guard, planOf([held(2, 2, W), held(7, 5, X)]));
    expect(accepted(guard, 7, [later(REPLAY_WINDOW + 11), later(REPLAY_WINDOW)])).toBe(0);
  });

  it("eviction takes the oldest retired pair: a key retired again moves to the newest", () => {
    const guard = committed(planOf([held(1, 1, X)]));
    expect(accepted(guard, 1, recordedTimes)).toBe(5);
    apply(guard, planOf([held(2, 2, W)]));
    for (let i = 0; i < RETIRED_WINDOWS_KEPT - 1; i += 1) {
      const epoch = 16 * (100 + i) + 5;
      apply(guard, planOf([held(2, 2, W), held(epoch, 1, `o${i}`.padStart(22, "q"))]));
      expect(receive(guard, frame(5, 100))).toBe(true);
    }
    // X held again (its floors become windows), then let go of again: now the newest retired.
    apply(guard, planOf([held(2, 2, W), held(3, 3, X)]));
    apply(guard, planOf([held(2, 2, W)]));
    for (let i = 0; i < 3; i += 1) {
      const epoch = 200_000 + 16 * i + 5;
      apply(guard, planOf([held(2, 2, W), held(epoch, 1, `p${i}`.padStart(22, "q"))]));
      expect(receive(guard, frame(5, 100))).toBe(true);
    }
    apply(guard, planOf([held(2, 2, W)]));
    apply(guard, planOf([held(2, 2, W), held(8, 9, X)]));
    expect(accepted(guard, 8, recordedTimes)).toBe(0);
  });

  it("participant ids containing '/' and check-like tails do not mix windows", () => {
    const tricky = `${A}/${W}`;
    const guard = committed(planOf([held(1, 1, X), held(2, 2, W)], [A, tricky]));
    expect(accepted(guard, 1, recordedTimes, 7, A)).toBe(5);
    expect(accepted(guard, 1, recordedTimes, 7, tricky)).toBe(5);
    // X let go of, W (the check the tricky id ends with) still held.
    apply(guard, planOf([held(2, 2, W)], [A, tricky]));
    apply(guard, planOf([held(2, 2, W), held(3, 1, X)], [A, tricky]));
    expect(accepted(guard, 3, recordedTimes, 7, A)).toBe(0);
    expect(accepted(guard, 3, recordedTimes, 7, tricky)).toBe(0);
  });

  it("a frame in flight while its key is let go of and held again is refused, and accepted once only", () => {
    const guard = committed(planOf([held(1, 1, X), held(2, 2, W)]));
    const inFlight = frame(1, 500);
    expect(guard.beforeDecrypt(A, inFlight)).toBe(true);
    apply(guard, planOf([held(2, 2, W)]));
    apply(guard, planOf([held(2, 2, W), held(3, 4, X)]));
    inFlight.data = new ArrayBuffer(inFlight.data.byteLength - 30);
    expect(guard.afterDecrypt(inFlight)).toBe(false);
    // Never accepted, so one copy may pass (it is not a replay), a second may not.
    expect(accepted(guard, 3, [500, 500])).toBe(1);
    // In flight across a plan that keeps its key: accepted.
    const kept = frame(3, 600);
    expect(guard.beforeDecrypt(A, kept)).toBe(true);
    apply(guard, planOf([held(2, 2, W), held(3, 4, X), held(4, 1, Y)]));
    kept.data = new ArrayBuffer(kept.data.byteLength - 30);
    expect(guard.afterDecrypt(kept)).toBe(true);
  });
});

describe("red team (guard): legitimate media still flows", () => {
  it("look-ahead becoming current, the old epoch retired, the same bytes reinstalled as a new generation", () => {
    const guard = committed(planOf([held(1, 1, X), held(2, 2, W)]));
    expect(accepted(guard, 1, [100, 110])).toBe(2);
    // The sender switches to the look-ahead on the same stream.
    expect(accepted(guard, 2, [120, 130])).toBe(2);
    apply(guard, planOf([held(2, 2, W), held(3, 3, Y)]));
    expect(accepted(guard, 2, [140])).toBe(1);
    // Same bytes of epoch 2 installed again (new generation): the stream goes on, replays stay out.
    apply(guard, planOf([held(2, 5, W), held(3, 3, Y)]));
    expect(accepted(guard, 2, [120, 130, 140])).toBe(0);
    expect(accepted(guard, 2, [150])).toBe(1);
  });

  it("a reconnect: the sender comes back on new streams under a held key", () => {
    const guard = committed(planOf([held(1, 1, X)]));
    expect(accepted(guard, 1, recordedTimes, 7)).toBe(5);
    apply(guard, planOf([held(1, 1, X)], []));
    apply(guard, planOf([held(1, 1, X)]));
    expect(accepted(guard, 1, recordedTimes, 7)).toBe(0);
    expect(accepted(guard, 1, recordedTimes, 70)).toBe(5);
  });
});

// ---- worker level: livekit's real E2EE worker behind e2eeWorker.ts ----

const { call, page } = workerCalls();

async function receiver(sender: string) {
  page()?.enable(sender, true);
  const pipe = new Pipe("decode", sender);
  await settle();
  return pipe;
}

/** A copy of a recorded frame with its (unauthenticated) key index byte rewritten. */
function withSlot(f: FakeFrame, slot: number): FakeFrame {
  const copy = copyFrame(f);
  const bytes = new Uint8Array(copy.data);
  bytes[bytes.length - 1] = slot;
  return copy;
}

async function recordedCall() {
  const { others, session } = await call({ epochs: [1, 2], sending: 2 });
  const [a] = others as [string];
  const incoming = await receiver(a);
  const writer = new FrameWriter();
  const frames = await framesFrom(writer, session, 1, a, 3);
  const recorded = frames.map(copyFrame);
  expect(await deliver(incoming, frames)).toBe(3);
  const epochOneKey = session.groupKeys.get(1);
  if (!epochOneKey) throw new Error("epoch 1 not held");
  return { a, session, incoming, writer, recorded, epochOneKey };
}

describe("red team (worker): same key bytes under another epoch", () => {
  it("epoch 1's bytes also held as epoch 3: the SFU rewrites recorded frames' key index to 3", async () => {
    const { a, session, incoming, writer, recorded, epochOneKey } = await recordedCall();
    session.hold(3, epochOneKey);
    await settle();
    expect(
      await deliver(
        incoming,
        recorded.map((f) => withSlot(f, 3)),
      ),
    ).toBe(0);
    session.drop(1);
    await settle();
    expect(
      await deliver(
        incoming,
        recorded.map((f) => withSlot(f, 3)),
      ),
    ).toBe(0);
    expect(await deliver(incoming, await framesFrom(writer, session, 3, a, 2))).toBe(2);
  });

  it("epoch 1's bytes let go of, then held as epoch 3: rewritten replays refused, new frames pass", async () => {
    const { a, session, incoming, writer, recorded, epochOneKey } = await recordedCall();
    session.drop(1);
    await settle();
    session.hold(3, epochOneKey);
    await settle();
    expect(
      await deliver(
        incoming,
        recorded.map((f) => withSlot(f, 3)),
      ),
    ).toBe(0);
    expect(await deliver(incoming, await framesFrom(writer, session, 3, a, 2))).toBe(2);
  });

  it("the core's state read between its install and its keys event (same generation, new check): frames under the replaced key must not pass", async () => {
    const { a, session, incoming, writer } = await recordedCall();
    const oldKey = session.senderKey(1, a);
    if (!oldKey) throw new Error("no sender key");
    // What CallSession.carryOut exposes to a listener that fires before its `keys` event (e.g. on
    // a rotation metric in the same batch): installed[1] is the new key, its generation the old.
    session.groupKeys.set(1, crypto.getRandomValues(new Uint8Array(32)));
    session.changed();
    await settle();
    const underOld = [await writer.encrypted(oldKey, 1), await writer.encrypted(oldKey, 1)];
    expect(await deliver(incoming, underOld)).toBe(0);
  });
});
