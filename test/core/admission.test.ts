// The membership state and its rules (docs/admission.md), attacked as a server or a member would:
// forge a state, sign one with a key that is not the host's, move one to another call, replay an
// older one to bring a removed member back, let a dismissed co-host sign past its dismissal, and
// race two authorities. Each attack must change nothing.
import { describe, expect, it } from "vitest";
import { createAnnouncement, verifyAnnouncement } from "../../web/src/core/announcement.js";
import { callContextOf, generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { generateCallSecret, participantIdOf } from "../../web/src/core/identifiers.js";
import {
  MAX_ADMITTED,
  signGrant,
  signMembershipState,
  verifyMembershipState,
} from "../../web/src/core/membership-state.js";
import { keyPair, stateOf, unitHarness } from "./admission-harness.js";

const ROOM = "room-of-the-call-1234";
const { random, host, deviceOf, memberAfter } = unitHarness(14, ROOM);
const alice = keyPair(random);
const bob = keyPair(random);
const mallory = keyPair(random);

describe("membership state", () => {
  it("admits nobody but the host until the host signs otherwise", () => {
    const hostDevice = deviceOf(host);
    expect(hostDevice.status()).toBe("admitted");
    expect(hostDevice.role()).toBe("host");
    const member = memberAfter([stateOf(hostDevice)], alice);
    expect(member.version).toBe(1);
    expect(member.status()).toBe("waiting");
    expect(member.admits(host.publicKey)).toBe(true);
    expect(member.admits(alice.publicKey)).toBe(false);
    expect(hostDevice.admit(alice.publicKey)).toBe(true);
    member.offer(stateOf(hostDevice));
    expect(member.status()).toBe("admitted");
    expect(member.version).toBe(2);
  });

  it("refuses a state signed by any key but the host's or a co-host's", () => {
    // Mallory has the link (so the room id) and signs a state admitting herself, with a grant of
    // her own: the host's key in the link is what she cannot have.
    const grant = signGrant(ROOM, mallory.secretKey, 0, []);
    const forged = signMembershipState(ROOM, mallory.secretKey, {
      version: 99,
      grant,
      admitted: [mallory.publicKey],
      declined: [],
      signer: mallory.publicKey,
    });
    const victim = memberAfter([forged], bob);
    expect(victim.version).toBe(0);
    expect(victim.admits(mallory.publicKey)).toBe(false);
    expect(victim.refused).toBe(1);
    expect(() => verifyMembershipState(ROOM, host.publicKey, forged)).toThrow(/neither host/);

    // Naming herself as signer under the host's real grant does not help: she cannot sign as it.
    const hostDevice = deviceOf(host);
    const real = verifyMembershipState(ROOM, host.publicKey, stateOf(hostDevice));
    const claimed = signMembershipState(ROOM, mallory.secretKey, {
      ...real,
      version: 2,
      admitted: [mallory.publicKey],
      signer: host.publicKey,
    });
    expect(() => verifyMembershipState(ROOM, host.publicKey, claimed)).toThrow(/does not verify/);
    // A grant naming her co-host, signed by her, under a state she signs: the grant is not the host's.
    const selfGranted = signMembershipState(ROOM, mallory.secretKey, {
      version: 2,
      grant: signGrant(ROOM, mallory.secretKey, 5, [mallory.publicKey]),
      admitted: [mallory.publicKey],
      declined: [],
      signer: mallory.publicKey,
    });
    expect(() => verifyMembershipState(ROOM, host.publicKey, selfGranted)).toThrow(/not the host/);
  });

  it("refuses every altered byte, and a state moved to another call", () => {
    const hostDevice = deviceOf(host);
    hostDevice.admit(alice.publicKey);
    const bytes = stateOf(hostDevice);
    for (let i = 0; i < bytes.length; i++) {
      const altered = bytes.slice();
      altered[i] = (altered[i] ?? 0) ^ 0x01;
      expect(() => verifyMembershipState(ROOM, host.publicKey, altered)).toThrow();
    }
    expect(() => verifyMembershipState("another-room-000000000", host.publicKey, bytes)).toThrow(
      /does not verify/,
    );
    expect(() => verifyMembershipState(ROOM, host.publicKey, bytes.subarray(0, 60))).toThrow();
    expect(() =>
      verifyMembershipState(ROOM, host.publicKey, new Uint8Array([...bytes, 0])),
    ).toThrow();
  });

  it("never goes back: a replayed older state cannot bring a removed member back", () => {
    const hostDevice = deviceOf(host);
    hostDevice.admit(alice.publicKey);
    const withAlice = stateOf(hostDevice);
    hostDevice.remove(alice.publicKey);
    const withoutAlice = stateOf(hostDevice);
    const aliceDevice = memberAfter([withAlice], alice);
    expect(aliceDevice.status()).toBe("admitted");
    aliceDevice.offer(withoutAlice);
    expect(aliceDevice.status()).toBe("removed");
    // The server (or Alice) replays the state that admitted her.
    expect(aliceDevice.offer(withAlice)).toBe("stale");
    expect(aliceDevice.status()).toBe("removed");
    const bobDevice = memberAfter([withoutAlice, withAlice], bob);
    expect(bobDevice.admits(alice.publicKey)).toBe(false);
  });

  it("lets a co-host admit and decline, never remove the host or a co-host, never appoint", () => {
    const hostDevice = deviceOf(host);
    hostDevice.admit(alice.publicKey);
    expect(hostDevice.appointCohost(alice.publicKey)).toBe(true);
    const aliceDevice = memberAfter([stateOf(hostDevice)], alice);
    expect(aliceDevice.role()).toBe("cohost");
    expect(aliceDevice.admit(bob.publicKey)).toBe(true);
    expect(aliceDevice.decline(mallory.publicKey)).toBe(true);
    const byAlice = stateOf(aliceDevice);
    const bobDevice = memberAfter([byAlice], bob);
    expect(bobDevice.status()).toBe("admitted");
    expect(memberAfter([byAlice], mallory).status()).toBe("declined");
    expect(aliceDevice.remove(host.publicKey)).toBe(false);
    expect(aliceDevice.appointCohost(bob.publicKey)).toBe(false);
    // The host takes her co-host standing away; her later state, under the old grant, is refused.
    hostDevice.offer(byAlice);
    expect(hostDevice.remove(alice.publicKey)).toBe(true);
    const dismissed = stateOf(hostDevice);
    const stale = signMembershipState(ROOM, alice.secretKey, {
      ...verifyMembershipState(ROOM, host.publicKey, byAlice),
      version: 1_000,
      admitted: [alice.publicKey, bob.publicKey, mallory.publicKey],
      declined: [],
    });
    // Valid on its own (a member that never saw the dismissal would take it) ...
    expect(memberAfter([stale], bob).admits(mallory.publicKey)).toBe(true);
    // ... but refused by every member that holds the dismissal, whatever its version.
    const informed = memberAfter([dismissed, stale], bob);
    expect(informed.admits(mallory.publicKey)).toBe(false);
    expect(informed.admits(alice.publicKey)).toBe(false);
  });

  it("settles two changes of one version on the same state, in either order", () => {
    const hostDevice = deviceOf(host);
    hostDevice.admit(alice.publicKey);
    hostDevice.appointCohost(alice.publicKey);
    const base = stateOf(hostDevice);
    const aliceDevice = memberAfter([base], alice);
    aliceDevice.admit(bob.publicKey);
    hostDevice.admit(mallory.publicKey);
    const a = stateOf(aliceDevice);
    const b = stateOf(hostDevice);
    const one = memberAfter([base, a, b], bob);
    const other = memberAfter([base, b, a], bob);
    expect(one.version).toBe(other.version);
    expect(one.stateBytes).toEqual(other.stateBytes);
  });

  it("refuses a state with too many entries before checking any signature", () => {
    const hostDevice = deviceOf(host);
    const real = stateOf(hostDevice);
    const huge = new Uint8Array(real.length + 32 * (MAX_ADMITTED + 1));
    huge.set(real.subarray(0, 2 + 4 + 4 + 1 + 64));
    const count = MAX_ADMITTED + 1;
    huge[75] = count >> 8;
    huge[76] = count & 0xff;
    const ops = { x25519SharedSecrets: 0, ed25519Signs: 0, ed25519Verifies: 0, keyPairs: 0 };
    expect(() => verifyMembershipState(ROOM, host.publicKey, huge, ops)).toThrow(/too many/);
    expect(ops.ed25519Verifies).toBe(0);
    expect(() => verifyMembershipState(ROOM, host.publicKey, new Uint8Array(70_000), ops)).toThrow(
      /impossible size/,
    );
  });

  it("keeps the host's versions across a reload (the stored state)", () => {
    const hostDevice = deviceOf(host);
    hostDevice.admit(alice.publicKey);
    const reloaded = deviceOf(host, stateOf(hostDevice));
    expect(reloaded.version).toBe(2);
    expect(reloaded.admits(alice.publicKey)).toBe(true);
    // A stored state that is not valid is ignored, not trusted.
    const tampered = stateOf(hostDevice).slice();
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    expect(deviceOf(bob, tampered).version).toBe(0);
  });
});

describe("member key binding", () => {
  const secret = generateCallSecret(random);
  const context = callContextOf(secret);
  const pid = participantIdOf(secret, "alice", "laptop");

  it("carries the member key, vouching for these session keys only", () => {
    const keys = generateCallKeyPairs(random);
    const bytes = createAnnouncement(context, pid, keys, "Alice", random, alice);
    expect(verifyAnnouncement(context, pid, bytes).memberKey).toEqual(alice.publicKey);
    const plain = createAnnouncement(context, pid, keys, "Alice", random);
    expect(verifyAnnouncement(context, pid, plain).memberKey).toBeUndefined();
  });

  it("refuses a member key whose signature vouches for other session keys", () => {
    // Mallory knows S, so she can make announcements. She copies Alice's member key and signature
    // from Alice's announcement into one with her own session keys: the binding does not verify.
    const aliceBytes = createAnnouncement(
      context,
      pid,
      generateCallKeyPairs(random),
      "Alice",
      random,
      alice,
    );
    const theirs = verifyAnnouncement(context, pid, aliceBytes);
    const forgedProfile = createAnnouncement(
      context,
      pid,
      generateCallKeyPairs(random),
      "Alice",
      random,
      { publicKey: theirs.memberKey ?? new Uint8Array(32), secretKey: mallory.secretKey },
    );
    expect(() => verifyAnnouncement(context, pid, forgedProfile)).toThrow(/does not vouch/);
  });
});
