// Red team (round 40): a leave hidden from member M together with the leader's envelopes to M.
// Each alone is covered (attacks.test.ts, attack 2); both at once to the same member used to keep
// M on the leaver's chain for good: M never learns of the leave, so its own lock-out never starts,
// and the fresh key that would move it off the chain never arrives, although the leader's signed
// commit and ratchets (which the server lets through) say that the leader has moved to a chain M
// does not hold. It sent under a key the leaver can derive for the whole 117.5 s checked after the
// leaver's deadline. Now a member that sees the leader move to an epoch it cannot follow gives its
// own chain one lock-out grace (key-schedule.ts, overtakenAt). The stronger variant hides the
// leaver's join from M as well: M never lists X, so nothing on screen tells that X was there.
//
// Not covered: a server that drops every frame of the leader's to M (no commit reaches it) still
// keeps M on its chain, since M hears nothing that says the leader moved (docs/key-schedule.md,
// Lock-out, what a member cannot see).
import { describe, expect, it } from "vitest";
import { DEFAULT_SCHEDULE_CONFIG } from "../../web/src/core/schedule-types.js";
import { isEnvelope, LOCKOUT_DEADLINE_MS, type SimClient, World } from "./sim/world.js";

const RUN_MS = 120_000;

function connectionOf(client: SimClient) {
  const connection = client.current?.connection;
  if (!connection) throw new Error(`client ${client.index} was never admitted`);
  return connection;
}

function scenario(hideJoin: boolean) {
  // Production timings (30 s ratchets, a fresh key every 10th).
  const world = new World({
    seed: 4040,
    adversarial: true,
    schedule: { ratchetIntervalMs: 30_000, freshEvery: 10 },
  });
  const leader = world.addClient();
  world.run(1_000);
  const member = world.addClient();
  world.run(1_000);
  const other = world.addClient();
  world.run(3_000);
  const m = connectionOf(member);
  const initial = new Set([leader, member, other].map((c) => c.session.participantId));
  // The relay hides X's membership notices from M (the join only in the stronger variant).
  world.relay.rules.push((to, frame) => {
    if (to !== m || initial.has(String(frame.participantId))) return undefined;
    if (frame.type === "member-left") return "drop";
    if (frame.type === "member-joined" && hideJoin) return "drop";
    return undefined;
  });
  const leaver = world.addClient();
  world.run(4_000);
  for (const c of [leader, member, other, leaver])
    if (c.sending === 0) throw new Error(`setup: client ${c.index} has no key`);
  const x = leaver.current;
  if (!x) throw new Error("setup: X never admitted");
  // M sends under the ratchet X was handed (X can derive it).
  const mKey = member.installed.get(member.sending);
  expect(mKey && world.canDerive(x, member.sending, mKey), "setup: X holds M's chain").toBe(true);
  // From now on the relay drops every key envelope between the leader and M (the fresh key, M's
  // key requests and their answers). Broadcasts (commit, ratchets) still reach M.
  const lId = leader.session.participantId;
  const mId = member.session.participantId;
  const l = connectionOf(leader);
  world.relay.rules.push((to, frame) => {
    if (frame.type !== "message") return undefined;
    const payload = String(frame.payload ?? "");
    const keyEnvelope = isEnvelope(payload);
    if (to === m && frame.from === lId && keyEnvelope) return "drop";
    if (to === l && frame.from === mId && keyEnvelope) return "drop";
    return undefined;
  });
  const leftAt = world.clock.now();
  world.leave(leaver);
  const deadline = leftAt + LOCKOUT_DEADLINE_MS;
  let exposedMs = 0;
  let acceptedMs = 0;
  const STEP = 100;
  for (let t = 0; t < RUN_MS; t += STEP) {
    world.run(STEP);
    const now = world.clock.now();
    const key = member.installed.get(member.sending);
    const readable =
      member.sending !== 0 && key !== undefined && world.canDerive(x, member.sending, key);
    const accepts = [...member.installed].some(([e, k]) => world.canDerive(x, e, k));
    if (now > deadline && accepts) acceptedMs += STEP;
    if (now > deadline && readable) {
      exposedMs += STEP;
    }
  }
  const honestLockedOut = [leader, other].every((c) => {
    const key = c.installed.get(c.sending);
    return c.sending !== 0 && key !== undefined && !world.canDerive(x, c.sending, key);
  });
  return {
    world,
    leader,
    member,
    other,
    exposedMs,
    acceptedMs,
    honestLockedOut,
    sending: { leader: leader.sending, member: member.sending, other: other.sending },
  };
}

describe("a leave hidden from M while the leader's key envelopes to M are dropped", () => {
  it.each([
    ["leave hidden, commits reach M", false],
    ["join and leave hidden, commits reach M", true],
  ] as const)("%s: M stops sending under the leaver's chain by a bounded time", (_, hideJoin) => {
    const r = scenario(hideJoin);
    // The others moved on and locked X out; M has seen their commit and ratchets.
    expect(r.honestLockedOut).toBe(true);
    console.log(
      `hideJoin=${hideJoin}: M sent under a key X can derive for ${r.exposedMs} ms, accepted frames under one for ${r.acceptedMs} ms, after X's deadline (of ${RUN_MS} ms run); sending epochs`,
      r.sending,
      "codes agree:",
      r.leader.securityCode === r.member.securityCode &&
        r.member.securityCode === r.other.securityCode,
    );
    expect(r.world.violations).toEqual([]);
    // The leader commits without M's acknowledgement once its ack timeout has passed; M's own
    // grace starts when that commit reaches it, X's when X left: M stops at most the ack timeout
    // (and the relay's delivery) after X's deadline, sending and accepting alike.
    const bound = DEFAULT_SCHEDULE_CONFIG.ackTimeoutMs + 200;
    expect(r.exposedMs, "ms M keeps sending under a key the leaver can derive").toBeLessThanOrEqual(
      bound,
    );
    expect(
      r.acceptedMs,
      "ms M keeps accepting under a key the leaver can derive",
    ).toBeLessThanOrEqual(bound);
  });
});
