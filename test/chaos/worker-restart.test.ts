// The Worker killed mid-call (SIGKILL to wrangler and workerd: every signalling socket drops, the
// Durable Object's state is gone) and started again on the same port with an empty state, as after
// a redeploy or a Durable Object reset. The SFU stays up. A dropped signalling socket ends a
// membership (docs/key-schedule.md, Reconnection): each client drops its keys and sends nothing,
// then rejoins on its own with fresh key pairs; the room gives out new seqs, the first to return
// leads and issues a key, and the call converges again: every pair decodes, one epoch, one
// (new) security code.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import { sleep, step, view, waitFor } from "../e2e/pages";
import { type Call, closeCall, converge, planWithinCore, startCall, views } from "./call";
import { type ChaosServers, startChaosServers } from "./servers";

let servers: ChaosServers;
let browser: RunningBrowser;

describe("the Worker killed and restarted mid-call", () => {
  beforeAll(async () => {
    servers = await startChaosServers();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await servers?.stop();
  });

  it("the clients rejoin on their own and converge: every pair decodes, one epoch, one code", async () => {
    const call: Call = await startCall(browser, servers.origin, ["Alice", "Bob", "Carol"]);
    try {
      const before = await views(call);
      const idsBefore = before.map((v) => v.selfId);
      step("killing the Worker");
      const killedAt = Date.now();
      await servers.killWorker();
      // The UI says so, and the lock-out rule holds while the Worker is gone: a membership that
      // lost its socket sends with no key (a leave it cannot hear about must not leave the leaver
      // on a key the others still send with).
      for (const participant of call.people) {
        await participant.page
          .getByText(/rejoining the call/i)
          .first()
          .waitFor({ timeout: 30_000 });
        await waitFor(
          `${participant.name} to stop sending once its signalling is gone`,
          async () => (await view(participant)).sendingEpoch === undefined,
          30_000,
        );
      }
      await sleep(2_000);
      const down = await views(call);
      step(
        `while the Worker is down: sending ${down.map((v) => v.sendingEpoch).join("/")}, connection ${down.map((v) => v.connection).join("/")}`,
      );
      await servers.startWorker();
      const answeredAt = Date.now();
      step(`the Worker answers again ${answeredAt - killedAt} ms after the kill`);
      const {
        tookMs,
        decodingAfterMs,
        views: after,
      } = await converge(call, "every pair to decode again after the Worker restart", 120_000);
      step(
        `every pair decodes again ${decodingAfterMs} ms after the Worker answered (converged after ${tookMs} ms); decrypt errors ${before.map((v) => v.decryptErrors).join("/")} -> ${after.map((v) => v.decryptErrors).join("/")}`,
      );
      for (const [i, v] of after.entries()) {
        const name = call.people[i]?.name;
        // The same participant ids (they are derived from the call secret and the device), new
        // memberships: new key pairs, so a new security code.
        expect(v.selfId, `${name}'s id`).toBe(idsBefore[i]);
        expect(v.securityCode, `${name}'s security code`).not.toBe(before[i]?.securityCode);
        expect(planWithinCore(v), `${name}: livekit's plan within the core's keys`).toBe(true);
        expect(v.connection).toBe("connected");
        expect(v.rosterIds).toHaveLength(3);
      }
      for (const participant of call.people) {
        await waitFor(
          `${participant.name}'s reconnecting notice to go`,
          async () => (await participant.page.getByText(/reconnecting|rejoining/i).count()) === 0,
        );
      }
    } finally {
      await closeCall(call);
    }
  });
});
