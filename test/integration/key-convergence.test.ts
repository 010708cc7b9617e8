// Node clients on the real Worker converge on one media key; after a member (and then the leader)
// leaves, the rest commit a fresh key that the leaver cannot hold or derive (docs/key-schedule.md,
// Rotations). Half the clients check the leader's broadcasts with Node's native Ed25519 (the
// asynchronous path pages take), half with @noble/curves at once, in one call.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  CallSession,
  generateCallSecret,
  platformSignatureVerifier,
  ratchetGroupKey,
  type SignatureVerifier,
  systemRandom,
  toBase64url,
} from "../../web/src/core/index.js";
import { waitUntil } from "../support/ports.js";
import { groupKeyOf } from "../support/session-keys.js";
import { type StartedWorker, startWorker } from "../support/worker.js";

let worker: StartedWorker;
const sessions: CallSession[] = [];

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  for (const session of sessions) session.leave();
  await worker?.stop();
});

function newSession(
  secret: ReturnType<typeof generateCallSecret>,
  index: number,
  signatures?: SignatureVerifier,
): CallSession {
  const session = new CallSession({
    ...(signatures ? { signatures } : {}),
    secret,
    userId: `integration-user-${index}`,
    deviceId: "node",
    displayName: `Node ${index}`,
    socketUrl: (roomId) => worker.wsUrl(roomId),
    WebSocket,
  });
  sessions.push(session);
  return session;
}

/** The key everyone sends with, when all given sessions agree on it. */
function agreedKey(members: CallSession[]): { epoch: number; key: string } | undefined {
  const views = members.map((session) => {
    const epoch = session.snapshot().sending.epoch;
    const key = groupKeyOf(session, epoch);
    return { epoch, key: key ? toBase64url(key) : "" };
  });
  const first = views[0];
  if (!first || first.epoch === 0 || first.key === "") return undefined;
  return views.every((v) => v.epoch === first.epoch && v.key === first.key) ? first : undefined;
}

/** Everything a (soon) leaver holds, ratcheted forward: what it could still compute. */
function derivable(session: CallSession, steps: number): Set<string> {
  const out = new Set<string>();
  for (const epoch of session.snapshot().keys) {
    let key = groupKeyOf(session, epoch);
    for (let i = 0; key && i <= steps; i++) {
      out.add(toBase64url(key));
      key = ratchetGroupKey(key);
    }
  }
  return out;
}

async function converge(members: CallSession[], above: number) {
  let agreed: { epoch: number; key: string } | undefined;
  await waitUntil(
    `${members.length} sessions to agree on an epoch above ${above}`,
    async () => {
      agreed = agreedKey(members);
      return agreed !== undefined && agreed.epoch > above;
    },
    20_000,
    50,
  );
  if (!agreed) throw new Error("unreachable");
  return agreed;
}

describe("key schedule on the real Worker", () => {
  it("four Node clients converge; a leaver and then the leader are locked out by fresh keys", async () => {
    const secret = generateCallSecret(systemRandom);
    const platform = await platformSignatureVerifier();
    if (!platform) throw new Error("Node's WebCrypto should check Ed25519");
    let platformChecks = 0;
    const counted: SignatureVerifier = {
      verify: (signature, message, publicKey, done) => {
        platformChecks++;
        platform.verify(signature, message, publicKey, done);
      },
    };
    const clients = [0, 1, 2, 3].map((i) => newSession(secret, i, i % 2 ? counted : undefined));
    for (const client of clients) await client.join();
    const [leader, a, b, c] = clients;
    if (!leader || !a || !b || !c) throw new Error("setup");

    const start = await converge(clients, 0);
    expect(leader.snapshot().roster.map((r) => r.displayName)).toEqual([
      "Node 0",
      "Node 1",
      "Node 2",
      "Node 3",
    ]);
    expect(leader.snapshot().roster.find((r) => r.self)?.leader).toBe(true);
    // The code follows the roster 0.1 s after its last change (docs/key-schedule.md, Security code).
    await waitUntil(
      "one security code",
      async () => new Set(clients.map((s) => s.snapshot().securityCode)).size === 1,
      5_000,
      50,
    );
    const codes = new Set(clients.map((s) => s.snapshot().securityCode));
    expect(codes.size).toBe(1);
    expect([...codes][0]).toMatch(/^\d{5}( \d{5}){4}$/);
    expect(clients.every((s) => s.snapshot().grant?.token)).toBe(true);

    // A member leaves: the other three commit a fresh key it can neither hold nor derive.
    const leaverKnows = derivable(c, 50);
    const before = leader.metrics().envelopesSent["key-fresh"];
    c.leave();
    const afterLeave = await converge([leader, a, b], start.epoch);
    expect(leaverKnows.has(afterLeave.key)).toBe(false);
    expect(c.snapshot().keys).toEqual([]);
    expect(leader.metrics().envelopesSent["key-fresh"] - before).toBe(2); // n-2 with n = 4

    // The leader leaves: the next one takes over and locks it out the same way.
    const leaderKnows = derivable(leader, 50);
    leader.leave();
    const afterLeader = await converge([a, b], afterLeave.epoch);
    expect(leaderKnows.has(afterLeader.key)).toBe(false);
    expect(a.snapshot().roster.find((r) => r.self)?.leader).toBe(true);
    expect(a.metrics().envelopesSent["key-fresh"]).toBe(1); // n-2 with n = 3

    // The LiveKit sender keys agree too (what the media layer installs).
    const senderA = a.senderKey(afterLeader.epoch, b.participantId);
    expect(senderA).toBeDefined();
    expect(b.senderKey(afterLeader.epoch, b.participantId)).toEqual(senderA);
    // Nodes 1 and 3 took every broadcast they acted on through the native check.
    expect(platformChecks).toBeGreaterThanOrEqual(2);
  });

  it("a dropped socket reconnects on its own and gets the current key again", async () => {
    const secret = generateCallSecret(systemRandom);
    const clients = [10, 11, 12].map((i) => newSession(secret, i));
    for (const client of clients) await client.join();
    const start = await converge(clients, 0);
    const dropped = clients[2];
    if (!dropped) throw new Error("setup");
    dropped.dropConnection();
    await waitUntil(
      "the dropped client to rejoin",
      async () => {
        return dropped.snapshot().connection.status === "joined";
      },
      20_000,
      50,
    );
    const after = await converge(clients, start.epoch);
    expect(after.epoch).toBeGreaterThan(start.epoch);
    expect(clients.every((s) => s.snapshot().roster.length === 3)).toBe(true);
  });
});
