// The media key plan as pure logic: what livekit must hold for each sender, what we send with,
// and the operations that take one plan to the next (docs/media-keys.md, 3. The key plan).
import { describe, expect, it } from "vitest";
import {
  diffPlans,
  EMPTY_PLAN,
  guardPlanOf,
  type KeyState,
  planKeys,
  ringsOf,
} from "../../web/src/media/keyPlan";

const SELF = "self-id";
/** A stand-in for a key's public check (22 base64url characters), one per epoch. */
const checkOf = (epoch: number) => `${epoch}`.padStart(22, "k");
const A = "member-a";
const B = "member-b";

function state(overrides: Partial<KeyState> = {}): KeyState {
  return {
    selfId: SELF,
    senders: [A, B],
    held: [
      { epoch: 4, generation: 1, check: checkOf(4) },
      { epoch: 5, generation: 2, check: checkOf(5) },
      { epoch: 6, generation: 3, check: checkOf(6) },
    ],
    sendingEpoch: 5,
    ...overrides,
  };
}

function epochsOf(plan: ReturnType<typeof planKeys>, participantId: string) {
  return [...(plan.receive.get(participantId)?.values() ?? [])].map((k) => k.epoch).sort();
}

describe("planKeys", () => {
  it("gives every verified sender exactly the held epochs, slot = epoch mod 16", () => {
    const plan = planKeys(state());
    expect(epochsOf(plan, A)).toEqual([4, 5, 6]);
    expect(epochsOf(plan, B)).toEqual([4, 5, 6]);
    expect(plan.receive.get(A)?.get(6)).toEqual({ slot: 6, epoch: 6, generation: 3 });
    expect(plan.receive.has(SELF)).toBe(false);
    expect(plan.send).toEqual({ slot: 5, epoch: 5, generation: 2 });
  });

  it("sends nothing for sending epoch 0, or an epoch the core does not hold", () => {
    expect(planKeys(state({ sendingEpoch: 0 })).send).toBeUndefined();
    expect(planKeys(state({ sendingEpoch: 9 })).send).toBeUndefined();
    expect(planKeys(state({ selfId: "" })).send).toBeUndefined();
  });

  it("keeps the newer epoch when two held epochs share a slot", () => {
    const plan = planKeys(
      state({
        held: [
          { epoch: 3, generation: 1, check: checkOf(3) },
          { epoch: 19, generation: 2, check: checkOf(19) },
        ],
        sendingEpoch: 19,
      }),
    );
    expect(epochsOf(plan, A)).toEqual([19]);
    expect(plan.receive.get(A)?.get(3)?.epoch).toBe(19);
  });

  it("ignores epochs that cannot be real (0, negative, fractions, beyond 32 bits)", () => {
    const plan = planKeys(
      state({
        held: [
          { epoch: 0, generation: 1, check: checkOf(0) },
          { epoch: -1, generation: 1, check: checkOf(-1) },
          { epoch: 1.5, generation: 1, check: checkOf(1.5) },
          { epoch: 2 ** 32, generation: 1, check: checkOf(2 ** 32) },
          { epoch: 7, generation: 1, check: checkOf(7) },
        ],
        sendingEpoch: 0,
      }),
    );
    expect(epochsOf(plan, A)).toEqual([7]);
  });

  it("never plans keys for ourselves as a receiver, nor for an empty id", () => {
    const plan = planKeys(state({ senders: [A, SELF, ""] }));
    expect([...plan.receive.keys()]).toEqual([A]);
  });
});

describe("diffPlans", () => {
  it("installs everything from nothing, our key as current", () => {
    const { operations } = diffPlans(EMPTY_PLAN, planKeys(state()));
    const installs = operations.filter((op) => op.kind === "install");
    expect(installs).toHaveLength(7);
    expect(installs.filter((op) => op.kind === "install" && op.current)).toEqual([
      {
        kind: "install",
        participantId: SELF,
        key: { slot: 5, epoch: 5, generation: 2 },
        current: true,
      },
    ]);
    expect(operations.some((op) => op.kind === "retire")).toBe(false);
  });

  it("retires an epoch the core dropped, for every sender", () => {
    const before = planKeys(state());
    const after = planKeys(state({ held: state().held.filter((h) => h.epoch !== 4) }));
    expect(diffPlans(before, after).operations).toEqual([
      { kind: "retire", participantId: A, slot: 4 },
      { kind: "retire", participantId: B, slot: 4 },
    ]);
  });

  it("retires every slot of a leaver", () => {
    const before = planKeys(state());
    const after = planKeys(state({ senders: [A] }));
    const ops = diffPlans(before, after).operations;
    expect(ops).toEqual([4, 5, 6].map((slot) => ({ kind: "retire", participantId: B, slot })));
  });

  it("send nothing retires our own slot and installs nothing", () => {
    const before = planKeys(state());
    const ops = diffPlans(before, planKeys(state({ sendingEpoch: 0 }))).operations;
    expect(ops).toEqual([{ kind: "retire", participantId: SELF, slot: 5 }]);
  });

  it("a switch installs the new sending key before wiping the old slot", () => {
    const before = planKeys(state());
    const ops = diffPlans(before, planKeys(state({ sendingEpoch: 6 }))).operations;
    expect(ops).toEqual([
      {
        kind: "install",
        participantId: SELF,
        key: { slot: 6, epoch: 6, generation: 3 },
        current: true,
      },
      { kind: "retire", participantId: SELF, slot: 5 },
    ]);
  });

  it("reinstalls a slot whose epoch got a new key (fresh key over a look-ahead ratchet)", () => {
    const before = planKeys(state());
    const held = state().held.map((h) =>
      h.epoch === 6 ? { epoch: 6, generation: 9, check: checkOf(6) } : h,
    );
    const ops = diffPlans(before, planKeys(state({ held }))).operations;
    expect(ops).toEqual([
      {
        kind: "install",
        participantId: A,
        key: { slot: 6, epoch: 6, generation: 9 },
        current: false,
      },
      {
        kind: "install",
        participantId: B,
        key: { slot: 6, epoch: 6, generation: 9 },
        current: false,
      },
    ]);
  });

  it("a slot taken over by an epoch 16 later is reinstalled, not left with the old key", () => {
    const before = planKeys(
      state({ held: [{ epoch: 2, generation: 1, check: checkOf(2) }], sendingEpoch: 0 }),
    );
    const after = planKeys(
      state({ held: [{ epoch: 18, generation: 2, check: checkOf(18) }], sendingEpoch: 0 }),
    );
    expect(diffPlans(before, after).operations).toEqual([
      {
        kind: "install",
        participantId: A,
        key: { slot: 2, epoch: 18, generation: 2 },
        current: false,
      },
      {
        kind: "install",
        participantId: B,
        key: { slot: 2, epoch: 18, generation: 2 },
        current: false,
      },
    ]);
  });

  it("is empty between equal plans, and applying a diff reaches the next plan's rings", () => {
    expect(diffPlans(planKeys(state()), planKeys(state())).operations).toEqual([]);
    // Property over a few hundred random states: applying diff(a, b) to the rings of a gives b.
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const randomState = (): KeyState => {
      const held = Array.from({ length: random(6) }, () => {
        const epoch = 1 + random(40);
        return { epoch, generation: random(3), check: checkOf(epoch) };
      });
      return {
        selfId: SELF,
        senders: [A, B, "member-c"].filter(() => random(2) === 0),
        held,
        sendingEpoch: random(3) === 0 ? 0 : (held[0]?.epoch ?? 0),
      };
    };
    for (let run = 0; run < 300; run += 1) {
      const a = planKeys(randomState());
      const b = planKeys(randomState());
      const rings = ringsOf(a);
      for (const op of diffPlans(a, b).operations) {
        const ring = rings.get(op.participantId) ?? new Map();
        if (op.kind === "install") ring.set(op.key.slot, op.key);
        else ring.delete(op.slot);
        rings.set(op.participantId, ring);
      }
      const expected = ringsOf(b);
      for (const map of [rings, expected]) {
        for (const [id, ring] of map) if (ring.size === 0) map.delete(id);
      }
      expect(rings).toEqual(expected);
    }
  });
});

describe("guardPlanOf", () => {
  it("tells the worker slots, epochs, generations and key checks only, and send null for send nothing", () => {
    const plan = guardPlanOf(planKeys(state({ sendingEpoch: 0 })));
    expect(plan.local).toBe(SELF);
    expect(plan.send).toBeNull();
    expect(plan.senders.map((s) => s.participantId)).toEqual([A, B]);
    expect(plan.held).toEqual(state().held);
  });
});
