// Red team (round 42, helper-39): the E2EE worker parses every plan with GuardPlanSchema, which
// capped a plan's senders at 1024 and ignored a plan that did not parse, keeping the previous one.
// Nothing upstream keeps a legitimate plan under a cap (the core's verified roster has none; a room
// may hold up to 10,000): from the 1025th verified member on, the guard followed no plan any more,
// so "send nothing" and retirements did not act at the plan message (only livekit's own key wipes,
// whenever its queue got there), and no new key was ever allowed. Now the cap is far above any
// room, and a plan that does not parse allows nothing at all until the next one that does.
import { describe, expect, it } from "vitest";
import { randomId } from "../support/ids";
import { FrameWriter, openFrame, Pipe, settle, settleUntil, workerCalls } from "./worker-harness";

const { call } = workerCalls();

describe("red team: a plan for a roster beyond 1024", () => {
  it("with 1025 verified members, send nothing stops our frames at once", async () => {
    const { self, others, session } = await call({ others: 1024, epochs: [1, 2], sending: 1 });
    const outgoing = new Pipe("encode", self);
    await settle(300);
    const ours = new FrameWriter();
    await outgoing.write(ours.plain());
    await settleUntil(() => outgoing.out.length === 1);
    expect(outgoing.out).toHaveLength(1);
    const oldKey = session.senderKey(1, self) as Uint8Array;
    // One more verified member joins.
    session.set({ senders: [...others, randomId()] });
    await settle(300);
    // The core says: send nothing (a leave whose fresh key is withheld: the leaver holds epoch 1).
    session.set({ sendingEpoch: 0 });
    await settle(1);
    for (let i = 0; i < 5; i += 1) await outgoing.write(ours.plain());
    await settle(300);
    let underOld = 0;
    for (const frame of outgoing.out.slice(1)) {
      if ((await openFrame(frame, oldKey)) !== undefined) underOld += 1;
    }
    expect(underOld).toBe(0);
    expect(outgoing.out).toHaveLength(1);
  });
});
