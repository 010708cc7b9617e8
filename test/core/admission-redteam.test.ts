// Red team of the ask-to-join admission core (commit d36c9dc), each test an attack. The first five
// were holes, each seen failing before its fix (docs/admission.md, Which state wins):
//   1-2. a co-host signing version 2^32-1 left the host unable to sign (and so to remove it);
//        now the host appoints afresh past the last version, and the newer grant wins;
//   3-4. a dismissed co-host's high-version state won on a device that saw it first, and let it
//        admit a fresh joiner; now the newer grant wins whatever the version;
//   5.   a host back from a reload with an older stored state signed changes everyone refused;
//        now the key leader and authorities answer an older state with the one they hold.
// The last four are defences that held: spoofed knocks, a waiting joiner's envelopes, a removed
// member's chat, hand and name, and the cost of oversized states.
// The hole tests use expect.soft so that a run lists every consequence of the attack.
import { describe, expect, it } from "vitest";
import { Admission } from "../../web/src/core/admission.js";
import { verifyAnnouncement } from "../../web/src/core/announcement.js";
import { fromBase64url, toBase64url } from "../../web/src/core/base64url.js";
import { callContextOf } from "../../web/src/core/call-keys.js";
import { sealChat } from "../../web/src/core/chat-message.js";
import { EnvelopeChannel } from "../../web/src/core/envelope.js";
import { encodeKeyMessage } from "../../web/src/core/key-messages.js";
import { encodeKnock } from "../../web/src/core/knock.js";
import type { OwnIncarnation } from "../../web/src/core/peer.js";
import {
  MAX_ADMITTED,
  signGrant,
  signMembershipState,
  verifyMembershipState,
} from "../../web/src/core/membership-state.js";
import {
  askCall,
  heldState,
  idOf,
  incarnationOf,
  inject,
  isMembership,
  keyPair,
  reads,
  rosterIds,
  statusOf,
  stateOf,
  unitHarness,
} from "./admission-harness.js";
import type { Connection } from "./sim/relay.js";
import { LOCKOUT_DEADLINE_MS, type SimClient, type World } from "./sim/world.js";

const MAX_U32 = 0xffffffff;

// Admission objects, as in admission.test.ts, under a seed and room of their own.
const ROOM = "room-of-the-redteam-1234";
const { random, host: hostK, deviceOf, memberAfter } = unitHarness(77, ROOM);
const aliceK = keyPair(random);
const bobK = keyPair(random);
const malloryK = keyPair(random);

// =====================================================================================
// HOLES
// =====================================================================================

describe("admission red team: holes (these tests fail against d36c9dc)", () => {
  it("a co-host that signs version 2^32-1 is still removed by the host (unit)", () => {
    // The host appoints Alice co-host. Alice (modified code) signs one more state, at the last
    // version there is. Every member takes it (it is valid and the highest). From then on every
    // change the host's Admission makes is `version + 1` = 2^32, which u32be refuses: the host can
    // neither remove Alice nor admit, decline or remove anyone.
    const hostDevice = deviceOf(hostK);
    hostDevice.admit(aliceK.publicKey);
    hostDevice.appointCohost(aliceK.publicKey);
    const real = verifyMembershipState(ROOM, hostK.publicKey, stateOf(hostDevice));
    const pinned = signMembershipState(ROOM, aliceK.secretKey, {
      ...real,
      version: MAX_U32,
      signer: aliceK.publicKey,
    });
    expect(hostDevice.offer(pinned)).toBe("taken");
    const bobDevice = memberAfter([pinned], bobK);
    let removed: boolean | string;
    try {
      removed = hostDevice.remove(aliceK.publicKey);
    } catch (error) {
      removed = `threw: ${String(error)}`;
    }
    // Expected: the host's dismissal goes out and every member takes it.
    expect(removed).toBe(true);
    bobDevice.offer(stateOf(hostDevice));
    expect(bobDevice.admits(aliceK.publicKey)).toBe(false);
    expect(bobDevice.isCohost(aliceK.publicKey)).toBe(false);
  });

  it("a co-host that signs version 2^32-1 is removed and locked out all the same", () => {
    const call = askCall(101);
    const { world, host } = call;
    const alice = call.join();
    const carol = call.join();
    world.run(3_000);
    for (const c of [alice, carol]) expect(host.session.admit(idOf(c))).toBe(true);
    world.run(3_000);
    expect(host.session.appointCohost(idOf(carol))).toBe(true);
    world.run(3_000);
    expect(carol.session.snapshot().admission?.role).toBe("cohost");
    // Carol signs the last version with her co-host key and sends it to everyone.
    const real = verifyMembershipState(
      host.session.roomId,
      call.hostKey.publicKey,
      heldState(host),
    );
    const pinned = toBase64url(
      signMembershipState(host.session.roomId, call.keyOf(carol).secretKey, {
        ...real,
        version: MAX_U32,
        signer: call.keyOf(carol).publicKey,
      }),
    );
    for (const to of [host, alice, carol]) inject(world, to, carol, pinned);
    world.run(1_000);
    expect(host.session.snapshot().admission?.version).toBe(MAX_U32);
    const carolIncarnation = incarnationOf(carol);
    // The host presses "remove" on Carol: the public API throws (RangeError from u32be).
    let outcome: boolean | string;
    try {
      outcome = host.session.remove(idOf(carol));
    } catch (error) {
      outcome = `threw: ${String(error)}`;
    }
    world.run(LOCKOUT_DEADLINE_MS + 2_000);
    expect.soft(outcome).toBe(true);
    for (const stayer of [host, alice]) {
      expect.soft(rosterIds(stayer), `on ${stayer.index}'s roster`).not.toContain(idOf(carol));
      expect.soft(reads(world, carolIncarnation, stayer), `reads ${stayer.index}`).toBe(false);
    }
  });

  it("a dismissed co-host's old-grant state, seen first, does not make a fresh device refuse the host", () => {
    // admission.test.ts checks that a member holding the dismissal refuses the dismissed co-host's
    // later state. The other order is not covered: `supersedes` compares versions before grants,
    // so a device that takes the stale state first (a new joiner; the server chooses the order)
    // then refuses the host's newer grant forever, because its version is lower.
    const hostDevice = deviceOf(hostK);
    hostDevice.admit(aliceK.publicKey);
    hostDevice.appointCohost(aliceK.publicKey);
    const granted = verifyMembershipState(ROOM, hostK.publicKey, stateOf(hostDevice));
    expect(hostDevice.remove(aliceK.publicKey)).toBe(true);
    const dismissed = stateOf(hostDevice);
    // Alice, dismissed and removed, still has grant 1 naming her: she signs with it.
    const stale = signMembershipState(ROOM, aliceK.secretKey, {
      ...granted,
      version: 1_000,
      admitted: [aliceK.publicKey, bobK.publicKey, malloryK.publicKey],
      declined: [],
      signer: aliceK.publicKey,
    });
    const informed = memberAfter([dismissed, stale], bobK);
    const fresh = memberAfter([stale, dismissed], bobK);
    // Members must settle on the same state whatever the order, and it must be the host's.
    expect.soft(fresh.version, "the same state in either order").toBe(informed.version);
    expect.soft(fresh.admits(malloryK.publicKey), "Mallory admitted").toBe(false);
    expect.soft(fresh.isCohost(aliceK.publicKey), "Alice still co-host").toBe(false);
    // And the host's later changes must reach it.
    hostDevice.admit(malloryK.publicKey);
    hostDevice.remove(malloryK.publicKey);
    expect.soft(fresh.offer(stateOf(hostDevice)), "the host's next state is taken").toBe("taken");
  });

  it("a dismissed co-host does not come back on a fresh joiner's roster and key", () => {
    const call = askCall(102);
    const { world, host } = call;
    const alice = call.join();
    const carol = call.join();
    world.run(3_000);
    for (const c of [alice, carol]) expect(host.session.admit(idOf(c))).toBe(true);
    world.run(3_000);
    expect(host.session.appointCohost(idOf(carol))).toBe(true);
    world.run(3_000);
    const granted = verifyMembershipState(
      host.session.roomId,
      call.hostKey.publicKey,
      heldState(host),
    );
    // The host dismisses and removes Carol.
    expect(host.session.remove(idOf(carol))).toBe(true);
    world.run(LOCKOUT_DEADLINE_MS + 1_000);
    expect(statusOf(carol)).toBe("removed");
    const carolKey = call.keyOf(carol);
    // Carol "reloads": a new session whose stored state she signed herself under her old grant,
    // naming herself co-host at a high version. (Nobody in the room will take it: they hold the
    // dismissal. But she is "host-like" in her own session, and relays it to whoever joins.)
    world.leave(carol);
    world.run(2_000);
    const forgedFor = (extra: Uint8Array[], version: number) =>
      signMembershipState(host.session.roomId, carolKey.secretKey, {
        ...granted,
        version,
        admitted: [call.keyOf(alice).publicKey, carolKey.publicKey, ...extra],
        declined: [],
        signer: carolKey.publicKey,
      });
    const carol2 = call.join(carolKey, undefined, forgedFor([], 1_000_000));
    world.run(3_000);
    expect(rosterIds(alice)).not.toContain(idOf(carol2));
    // Nora joins. The server holds back the host's and Alice's membership broadcasts to her for a
    // moment; Carol's (forged, but validly signed under grant 1) reaches her first, admitting Nora.
    const noraKey = keyPair(world.random);
    let nora: SimClient | undefined;
    const held: Connection[] = [];
    world.relay.rules.push((to, frame) => {
      if (!nora || to !== nora.current?.connection || !isMembership(frame)) return undefined;
      if (frame.from === idOf(carol2)) return undefined;
      held.push(to);
      return "drop";
    });
    nora = call.join(noraKey);
    world.run(500);
    // (Carol's own session takes it too: she is the one who signed it.)
    const withNora = toBase64url(forgedFor([noraKey.publicKey], 1_000_001));
    for (const to of [nora, carol2]) inject(world, to, carol2, withNora);
    world.run(500);
    world.relay.rules = [];
    // Everything honest flows again: the host admits Nora properly (its state, grant 2, is sent to
    // all). Nora must end on the host's state, not Carol's.
    expect(host.session.admit(idOf(nora))).toBe(true);
    world.run(5_000);
    const carolIncarnation = incarnationOf(carol2);
    expect
      .soft(nora.session.snapshot().admission?.version, "Nora holds the host's state")
      .toBe(host.session.snapshot().admission?.version);
    expect.soft(rosterIds(nora), "Carol is not on Nora's roster").not.toContain(idOf(carol2));
    // The host and Alice leave: in Nora's view Carol is an admitted co-host and her leader.
    world.leave(host);
    world.leave(alice);
    world.run(LOCKOUT_DEADLINE_MS + 5_000);
    expect.soft(reads(world, carolIncarnation, nora), "Carol reads Nora's key").toBe(false);
  });

  it("a host that reloads with a stale stored state catches up, and its removal holds", () => {
    // No lying server is needed. The host's device reloads; while it is away its co-host makes two
    // changes and leaves. The reloaded host holds an older version than every member; nobody but an
    // authority sends the state, so it never learns the newer one. Its removal of Rob is signed at
    // a version the members already passed, so they all refuse it; Alice, the key leader, keeps
    // keying Rob, and the host's UI says he is out.
    const call = askCall(103);
    const { world, host } = call;
    const alice = call.join();
    const carol = call.join();
    const rob = call.join();
    world.run(3_000);
    for (const c of [alice, carol, rob]) expect(host.session.admit(idOf(c))).toBe(true);
    world.run(3_000);
    expect(host.session.appointCohost(idOf(carol))).toBe(true);
    world.run(3_000);
    const stored = heldState(host);
    world.leave(host);
    world.run(2_000);
    const xavier = call.join();
    world.run(3_000);
    expect(carol.session.admit(idOf(xavier))).toBe(true);
    world.run(2_000);
    expect(carol.session.remove(idOf(xavier))).toBe(true);
    world.run(2_000);
    world.leave(carol);
    world.run(2_000);
    const reloaded = call.join(call.hostKey, host, stored);
    world.run(5_000);
    expect(reloaded.session.snapshot().admission?.role).toBe("host");
    expect(rosterIds(reloaded)).toContain(idOf(rob));
    const robIncarnation = incarnationOf(rob);
    expect(reloaded.session.remove(idOf(rob))).toBe(true);
    world.run(LOCKOUT_DEADLINE_MS + 5_000);
    // What the host was promised: Rob is out for everyone, and reads nothing anyone sends now.
    expect.soft(rosterIds(alice), "Rob is off Alice's roster").not.toContain(idOf(rob));
    expect.soft(statusOf(rob), "Rob knows he is removed").toBe("removed");
    expect.soft(reads(world, robIncarnation, alice), "Rob reads Alice's key").toBe(false);
    expect.soft(reloaded.sending, "the host itself still sends").not.toBe(0);
  });
});

// =====================================================================================
// DEFENCES THAT HELD
// =====================================================================================

/** A session's own incarnation keys (tests only: a member running modified code has them). */
function ownOf(client: SimClient): OwnIncarnation {
  return (client.session as unknown as { own: OwnIncarnation }).own;
}

/** An envelope channel from `from`'s current incarnation to `to`'s, as modified code would make. */
function channelBetween(world: World, from: SimClient, to: SimClient): EnvelopeChannel {
  const connection = to.current?.connection;
  if (!connection?.announcement) throw new Error("not announced");
  const theirs = verifyAnnouncement(
    callContextOf(world.secret),
    idOf(to),
    fromBase64url(connection.announcement),
  );
  return new EnvelopeChannel(
    from.session.roomId,
    idOf(from),
    ownOf(from).keyPairs.x25519.secretKey,
    idOf(to),
    theirs.x25519PublicKey,
  );
}

function unicast(world: World, to: SimClient, from: SimClient, sealed: Uint8Array): void {
  const connection = to.current?.connection;
  if (!connection) throw new Error("not connected");
  world.relay.dispatch(connection, {
    type: "message",
    from: idOf(from),
    payload: toBase64url(sealed),
  });
}

describe("admission red team: defences that held (these pass)", () => {
  it("a knock sealed by a different incarnation, or by a keyed member, names nobody to the host", () => {
    const call = askCall(201);
    const { world, host } = call;
    const alice = call.join();
    world.run(3_000);
    expect(host.session.admit(idOf(alice))).toBe(true);
    world.run(3_000);
    const walt = call.join();
    const mallory = call.join();
    world.run(5_000);
    const waiting = () =>
      Object.fromEntries(
        (host.session.snapshot().admission?.waiting ?? []).map((w) => [
          w.participantId,
          w.displayName,
        ]),
      );
    expect(waiting()).toEqual({ [idOf(walt)]: "Client 2", [idOf(mallory)]: "Client 3" });
    const rejected = host.session.metrics().envelopesRejected;
    // Mallory seals a knock with her own keys and the server attributes it to Walt.
    const spoof = channelBetween(world, mallory, host).seal(
      0,
      encodeKnock("The Boss"),
      world.random,
    );
    unicast(world, host, walt, spoof);
    // Alice, keyed, knocks "as" herself to rename herself in the host's prompt: not a key message.
    const keyed = channelBetween(world, alice, host).seal(0, encodeKnock("The Boss"), world.random);
    unicast(world, host, alice, keyed);
    world.run(1_000);
    expect(waiting()).toEqual({ [idOf(walt)]: "Client 2", [idOf(mallory)]: "Client 3" });
    expect(host.session.metrics().envelopesRejected).toBeGreaterThanOrEqual(rejected + 2);
    expect(world.violations).toEqual([]);
  });

  it("a waiting joiner's key requests reach nothing, and it never holds a key", () => {
    const call = askCall(202);
    const { world, host } = call;
    const alice = call.join();
    world.run(3_000);
    expect(host.session.admit(idOf(alice))).toBe(true);
    world.run(3_000);
    const mallory = call.join();
    world.run(5_000);
    expect(statusOf(mallory)).toBe("waiting");
    let toMallory = 0;
    world.sentListeners.push((client, _connection, data) => {
      if (client !== host && client !== alice) return;
      const frame = JSON.parse(data) as { type: string; messages?: { to: string }[] };
      if (frame.type === "send")
        toMallory += (frame.messages ?? []).filter((m) => m.to === idOf(mallory)).length;
    });
    const rejected = host.session.metrics().envelopesRejected;
    for (const leader of [host, alice]) {
      const channel = channelBetween(world, mallory, leader);
      for (const epoch of [leader.sending, leader.sending + 1]) {
        const body = encodeKeyMessage({ type: "key-request", epoch, have: 0 });
        unicast(world, leader, mallory, channel.seal(epoch, body, world.random));
      }
    }
    world.run(5_000);
    expect(toMallory).toBe(0);
    expect(host.session.metrics().envelopesRejected).toBeGreaterThanOrEqual(rejected + 2);
    expect(mallory.installed.size).toBe(0);
    expect(mallory.session.snapshot().roster).toEqual([]);
    expect(mallory.session.snapshot().chat).toEqual([]);
  });

  it("a removed member's chat, hand and name messages are not shown", () => {
    const call = askCall(203);
    const { world, host } = call;
    const alice = call.join();
    const rob = call.join();
    world.run(3_000);
    for (const c of [alice, rob]) expect(host.session.admit(idOf(c))).toBe(true);
    world.run(5_000);
    const robIncarnation = incarnationOf(rob);
    const robOwn = ownOf(rob);
    expect(host.session.remove(idOf(rob))).toBe(true);
    world.run(LOCKOUT_DEADLINE_MS + 1_000);
    // Rob kept his last key and his signing key: he signs lines under it, as modified code would.
    const [epoch, keys] = [...robIncarnation.everHeld].sort((a, b) => b[0] - a[0])[0] ?? [];
    const groupKey = keys ? [...keys.values()][0] : undefined;
    if (epoch === undefined || !groupKey) throw new Error("Rob never held a key");
    let counter = 1_000;
    for (const body of [
      { type: "text", text: "I am still here" },
      { type: "hand", up: true },
      { type: "name", name: "Host" },
    ] as const) {
      counter += 1;
      const bytes = sealChat(
        { roomId: rob.session.roomId, senderId: idOf(rob) },
        robOwn.keyPairs.ed25519.secretKey,
        groupKey,
        { epoch, lamport: world.clock.now(), counter },
        body,
        world.random,
      );
      for (const to of [host, alice]) inject(world, to, rob, toBase64url(bytes));
    }
    world.run(8_000);
    for (const stayer of [host, alice]) {
      const snap = stayer.session.snapshot();
      expect(snap.chat.some((entry) => entry.from === idOf(rob))).toBe(false);
      expect(snap.hands).not.toContain(idOf(rob));
      expect(snap.roster.map((entry) => entry.displayName)).not.toContain("Host");
    }
  });

  it("an oversized or over-count state costs no signature check", () => {
    const ops = { x25519SharedSecrets: 0, ed25519Signs: 0, ed25519Verifies: 0, keyPairs: 0 };
    const device = new Admission({ roomId: ROOM, hostKey: hostK.publicKey, member: bobK, ops });
    // A full-size state (1,000 admitted) signed by a key that is neither host nor co-host.
    const big = signMembershipState(ROOM, malloryK.secretKey, {
      version: 7,
      grant: signGrant(ROOM, malloryK.secretKey, 0, []),
      admitted: Array.from({ length: MAX_ADMITTED }, () => random(32)),
      declined: [],
      signer: malloryK.publicKey,
    });
    const before = ops.ed25519Verifies;
    for (let i = 0; i < 50; i++) expect(device.offer(big)).toBe("refused");
    expect(device.offer(new Uint8Array(70_000).fill(0x4d))).toBe("refused");
    expect(ops.ed25519Verifies).toBe(before);
    expect(device.version).toBe(0);
  });
});
