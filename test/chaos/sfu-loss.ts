// What must hold after every page of a call lost its SFU, whether it came back on its ports
// (sfu-restart.test.ts) or the call moved to another node (sfu-failover.test.ts): the same capture
// tracks, the same members and security code (signalling was never down), livekit holding only
// keys the core holds and none retired before the loss, connected again, and no page still saying
// it is reconnecting.
import { expect } from "vitest";
import type { HushTestView } from "../../web/src/app/testHooks";
import { waitFor } from "../e2e/pages";
import { type Call, keyLogEntries, planWithinCore, probe, views } from "./call";

/** The call as it was just before the SFU went. */
export interface BeforeSfuLoss {
  readonly views: HushTestView[];
  readonly securityCode: string | undefined;
  /** Every epoch below the lowest the core held was retired before: none may reach livekit again. */
  readonly lowestHeld: number;
  /** Per page, the ids of its camera and microphone capture tracks. */
  readonly captures: string[][];
}

async function captureIds(call: Call): Promise<string[][]> {
  const probes = await Promise.all(call.people.map(probe));
  return probes.map((p) => (p?.local ?? []).map((l) => `${l.source}:${l.captureId}`).sort());
}

export async function beforeSfuLoss(call: Call): Promise<BeforeSfuLoss> {
  const before = await views(call);
  return {
    views: before,
    securityCode: before[0]?.securityCode,
    lowestHeld: Math.min(...before.flatMap((v) => v.keyEpochs)),
    captures: await captureIds(call),
  };
}

/** Checks a converged call (`after`, every page's view) against the rules above. */
export async function expectRecoveredFromSfuLoss(
  call: Call,
  before: BeforeSfuLoss,
  killedAt: number,
  after: HushTestView[],
): Promise<void> {
  // The rejoin republished the cameras and microphones that kept running: opening a device again
  // (livekit's default) once left a live camera track that gave no frame, and every video dark
  // (keepCapture.ts).
  expect(await captureIds(call), "the same capture tracks after the rejoin").toEqual(
    before.captures,
  );
  expect(new Set(after.map((v) => v.securityCode))).toEqual(new Set([before.securityCode]));
  for (const [i, v] of after.entries()) {
    const name = call.people[i]?.name;
    expect(planWithinCore(v), `${name}: livekit's plan within the core's keys`).toBe(true);
    const handedOver = keyLogEntries(v).filter(
      (entry) => entry.at >= killedAt && entry.epoch !== undefined,
    );
    for (const entry of handedOver) {
      expect(entry.epoch, `${name}: a key handed to livekit after the kill`).toBeGreaterThanOrEqual(
        before.lowestHeld,
      );
    }
    expect(v.connection).toBe("connected");
  }
  // The UI no longer says it is reconnecting.
  for (const participant of call.people) {
    await waitFor(
      `${participant.name}'s reconnecting notice to go`,
      async () => (await participant.page.getByText(/reconnecting|rejoining/i).count()) === 0,
    );
  }
}
