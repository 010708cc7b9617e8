// Ask-to-join calls over the simulator (docs/admission.md): real CallSessions behind the Worker's
// room rules and a relay that lies. The server connects anyone with the link to the room; what it
// must not achieve is a key, a roster place or a chat line for someone the host has not admitted,
// nor bring back someone the host removed.
import { describe, expect, it } from "vitest";
import { verifyAnnouncement } from "../../web/src/core/announcement.js";
import { fromBase64url, toBase64url } from "../../web/src/core/base64url.js";
import { callContextOf } from "../../web/src/core/call-keys.js";
import {
  signGrant,
  signMembershipState,
  verifyMembershipState,
} from "../../web/src/core/membership-state.js";
import {
  type AskCall,
  askCall,
  idOf,
  incarnationOf,
  inject,
  isMembership,
  namesSeenBy,
  recordStates,
  rosterIds,
  statusOf,
} from "./admission-harness.js";
import type { Connection } from "./sim/relay.js";
import { LOCKOUT_DEADLINE_MS, type SimClient } from "./sim/world.js";

function admitted(call: AskCall, ...clients: SimClient[]): void {
  for (const client of clients) expect(call.host.session.admit(idOf(client))).toBe(true);
  call.world.run(3_000);
}

describe("ask-to-join calls", () => {
  it("a joiner waits with nothing until the host admits it, then gets keys and a place", () => {
    const call = askCall(1);
    const { world, host } = call;
    const alice = call.join();
    world.run(3_000);
    // Alice's own view while she waits: no key, nobody on her roster, asked nothing.
    expect(statusOf(alice)).toBe("waiting");
    expect(alice.installed.size).toBe(0);
    expect(alice.sending).toBe(0);
    expect(rosterIds(alice)).toEqual([]);
    expect(rosterIds(host)).toEqual([idOf(host)]);
    // The host is asked, under Alice's verified name.
    expect(host.session.snapshot().admission?.waiting).toEqual([
      expect.objectContaining({ participantId: idOf(alice), displayName: "Client 1" }),
    ]);
    host.session.sendChat("before Alice is let in");
    world.run(2_000);
    admitted(call, alice);
    expect(statusOf(alice)).toBe("admitted");
    expect(rosterIds(alice)).toEqual([idOf(host), idOf(alice)].sort());
    expect(rosterIds(host)).toEqual([idOf(host), idOf(alice)].sort());
    expect(alice.sending).not.toBe(0);
    expect(alice.installed.get(alice.sending)).toBe(host.installed.get(host.sending));
    // Nothing sent before her admission is hers to read.
    expect(alice.session.snapshot().chat.some((entry) => entry.text !== undefined)).toBe(false);
    host.session.sendChat("after");
    world.run(2_000);
    expect(alice.session.snapshot().chat.map((entry) => entry.text)).toEqual(["after"]);
    expect(alice.session.snapshot().chat.map((entry) => entry.displayName)).toEqual(["Client 0"]);
    // Once in, names come under the call's keys, both ways.
    expect(namesSeenBy(alice)).toEqual(["Client 0", "Client 1"]);
    expect(namesSeenBy(host)).toEqual(["Client 0", "Client 1"]);
    expect(world.violations).toEqual([]);
  });

  it("the link alone opens no name: announcements carry none, and a waiting joiner learns none", () => {
    const call = askCall(10);
    const { world, host } = call;
    const alice = call.join();
    world.run(2_000);
    admitted(call, alice);
    const mallory = call.join();
    world.run(5_000);
    // Everything the room holds about each participant, opened with the call secret, as Mallory
    // (or a server that got the link) can.
    const context = callContextOf(world.secret);
    for (const connection of world.relay.members()) {
      const opened = verifyAnnouncement(
        context,
        connection.participantId ?? "",
        fromBase64url(connection.announcement ?? ""),
      );
      expect(opened.displayName).toBe("");
    }
    expect(namesSeenBy(mallory)).toEqual([]);
    expect(mallory.session.snapshot().chat).toEqual([]);
    // The host reads her name from her knock; Alice, a member, is not asked.
    expect(host.session.snapshot().admission?.waiting.map((w) => w.displayName)).toEqual([
      "Client 2",
    ]);
    expect(alice.session.snapshot().admission?.waiting).toEqual([]);
  });

  it("only the host and co-hosts are asked; a member cannot admit anyone", () => {
    const call = askCall(2);
    const { world, host } = call;
    const alice = call.join();
    world.run(2_000);
    admitted(call, alice);
    const bob = call.join();
    world.run(3_000);
    expect(alice.session.snapshot().admission?.waiting).toEqual([]);
    expect(alice.session.admit(idOf(bob))).toBe(false);
    world.run(3_000);
    expect(statusOf(bob)).toBe("waiting");
    expect(rosterIds(host)).not.toContain(idOf(bob));
    expect(rosterIds(alice)).not.toContain(idOf(bob));
    expect(bob.installed.size).toBe(0);
  });

  it("a declined joiner is told and gets nothing", () => {
    const call = askCall(3);
    const { world, host } = call;
    const mallory = call.join();
    world.run(3_000);
    expect(host.session.decline(idOf(mallory))).toBe(true);
    world.run(5_000);
    expect(statusOf(mallory)).toBe("declined");
    expect(mallory.installed.size).toBe(0);
    expect(host.session.snapshot().admission?.waiting).toEqual([]);
    expect(rosterIds(host)).toEqual([idOf(host)]);
  });

  it("a lying relay admits nobody: forged, re-signed, moved and replayed states change nothing", () => {
    const call = askCall(4);
    const { world, host } = call;
    const states = recordStates(world);
    const alice = call.join();
    world.run(2_000);
    admitted(call, alice);
    const mallory = call.join();
    world.run(3_000);
    const malloryKey = call.keyOf(mallory);
    const held = host.session.snapshot().admission?.stateBytes;
    if (!held) throw new Error("the host holds no state");
    const real = verifyMembershipState(
      host.session.roomId,
      call.hostKey.publicKey,
      fromBase64url(held),
    );
    // What a server (or Mallory, who has the link) can make: a state signed by her own key, under
    // her own grant or the host's real one, and a real one altered to list her.
    const forgeries = [
      signMembershipState(host.session.roomId, malloryKey.secretKey, {
        version: 50,
        grant: signGrant(host.session.roomId, malloryKey.secretKey, 9, [malloryKey.publicKey]),
        admitted: [malloryKey.publicKey],
        declined: [],
        signer: malloryKey.publicKey,
      }),
      signMembershipState(host.session.roomId, malloryKey.secretKey, {
        ...real,
        version: 51,
        admitted: [...real.admitted, malloryKey.publicKey],
        signer: malloryKey.publicKey,
      }),
      (() => {
        const altered = fromBase64url(held);
        altered.set(malloryKey.publicKey, 2 + 4 + 4 + 1 + 64 + 2);
        return altered;
      })(),
    ].map(toBase64url);
    for (const payload of [...forgeries, ...states]) {
      for (const to of [host, alice, mallory]) inject(world, to, host, payload);
      for (const to of [host, alice, mallory]) inject(world, to, mallory, payload);
    }
    world.setFaults({
      dropRate: 0.1,
      duplicateRate: 0.2,
      reorder: true,
      minDelayMs: 1,
      maxDelayMs: 200,
      replayRate: 0.2,
    });
    world.run(10_000);
    world.quiet(5_000);
    expect(statusOf(mallory)).toBe("waiting");
    expect(mallory.installed.size).toBe(0);
    expect(rosterIds(host)).toEqual([idOf(host), idOf(alice)].sort());
    expect(rosterIds(alice)).toEqual([idOf(host), idOf(alice)].sort());
    expect(host.session.snapshot().admission?.version).toBe(real.version);
  });

  it("a removed member is locked out like a leaver and cannot be brought back", () => {
    for (const seed of [5, 6, 7]) {
      const call = askCall(seed);
      const { world, host } = call;
      const states = recordStates(world);
      const alice = call.join();
      const rob = call.join();
      world.run(3_000);
      admitted(call, alice, rob);
      expect(rosterIds(alice)).toContain(idOf(rob));
      const robIncarnation = incarnationOf(rob);
      const statesWithRob = [...states];
      expect(host.session.remove(idOf(rob))).toBe(true);
      const removedAt = world.clock.now();
      // Right after the removal: the server replays every state that admitted Rob, to everyone.
      for (const payload of statesWithRob)
        for (const to of [host, alice, rob]) inject(world, to, host, payload);
      world.run(LOCKOUT_DEADLINE_MS + 500);
      expect(statusOf(rob)).toBe("removed");
      expect(rob.installed.size).toBe(0);
      for (const stayer of [host, alice]) {
        expect(rosterIds(stayer)).toEqual([idOf(host), idOf(alice)].sort());
        const key = stayer.installed.get(stayer.sending);
        expect(stayer.sending, `seed ${seed}`).not.toBe(0);
        // Rob kept every key he ever held: none of them leads to what the others send with now.
        expect(key && world.canDerive(robIncarnation, stayer.sending, key), `seed ${seed}`).toBe(
          false,
        );
      }
      // Keys keep moving (ratchets, fresh keys): none of them ever reaches Rob again.
      world.run(30_000);
      for (const stayer of [host, alice]) {
        const key = stayer.installed.get(stayer.sending);
        expect(key && world.canDerive(robIncarnation, stayer.sending, key)).toBe(false);
      }
      expect(world.clock.now() - removedAt).toBeGreaterThan(LOCKOUT_DEADLINE_MS);
      // Reconnecting makes him a new joiner: he waits like anyone else.
      world.dropSocket(rob);
      world.run(5_000);
      expect(statusOf(rob)).not.toBe("admitted");
      expect(rob.installed.size).toBe(0);
      expect(rosterIds(alice)).not.toContain(idOf(rob));
      expect(world.violations).toEqual([]);
    }
  });

  it("a member that never hears of the removal cannot make the others send to the removed", () => {
    // The server withholds the removal from Alice and leaves Rob connected. Alice is the key leader
    // (the host reconnected, so it joined after her): she goes on keying Rob and naming him as a
    // holder, and everyone who knows he was removed stops sending with those keys.
    const call = askCall(8);
    const { world, host } = call;
    const alice = call.join();
    const bob = call.join();
    const rob = call.join();
    world.run(3_000);
    admitted(call, alice, bob, rob);
    world.dropSocket(host);
    world.run(5_000);
    expect(host.session.snapshot().roster.find((e) => e.leader)?.participantId).toBe(idOf(alice));
    // Rob colludes: the server keeps the removal from his client too, so it goes on taking keys.
    const blind = [alice, rob].map((c) => c.current?.connection as Connection);
    world.relay.rules.push((to, frame) =>
      blind.includes(to) && isMembership(frame) ? "drop" : undefined,
    );
    const robIncarnation = incarnationOf(rob);
    expect(host.session.remove(idOf(rob))).toBe(true);
    world.run(LOCKOUT_DEADLINE_MS + 3_000);
    // The lie works on Alice, and only on her (the known limit in docs/admission.md): she still
    // counts Rob in and keys him...
    expect(rosterIds(alice)).toContain(idOf(rob));
    const aliceKey = alice.installed.get(alice.sending);
    expect(aliceKey && world.canDerive(robIncarnation, alice.sending, aliceKey)).toBe(true);
    // ... and on nobody else.
    for (const stayer of [host, bob]) {
      const key = stayer.installed.get(stayer.sending);
      const readable =
        stayer.sending !== 0 && key && world.canDerive(robIncarnation, stayer.sending, key);
      expect(readable, `client ${stayer.index}`).toBeFalsy();
    }
  });

  it("host authority survives a reconnect and a reload, and passes to the co-hosts it named", () => {
    const call = askCall(9);
    const { world, host } = call;
    const alice = call.join();
    world.run(2_000);
    admitted(call, alice);
    world.dropSocket(host);
    world.run(5_000);
    expect(host.session.snapshot().admission?.role).toBe("host");
    const bob = call.join();
    world.run(3_000);
    admitted(call, bob);
    expect(rosterIds(alice)).toContain(idOf(bob));
    // A reload: a new session on the host's device, with the state it stored.
    const stored = host.session.snapshot().admission?.stateBytes;
    world.leave(host);
    world.run(2_000);
    const reloaded = world.addClient(undefined, host, {
      admission: {
        hostKey: call.hostKey.publicKey,
        memberKey: call.hostKey,
        ...(stored ? { storedState: fromBase64url(stored) } : {}),
      },
    });
    world.run(3_000);
    expect(reloaded.session.snapshot().admission?.role).toBe("host");
    expect(rosterIds(reloaded)).toEqual([idOf(alice), idOf(bob), idOf(reloaded)].sort());
    expect(reloaded.session.appointCohost(idOf(alice))).toBe(true);
    world.run(2_000);
    expect(alice.session.snapshot().admission?.role).toBe("cohost");
    world.leave(reloaded);
    world.run(3_000);
    const carol = call.join();
    world.run(3_000);
    expect(alice.session.snapshot().admission?.waiting.map((w) => w.participantId)).toEqual([
      idOf(carol),
    ]);
    expect(alice.session.admit(idOf(carol))).toBe(true);
    world.run(3_000);
    expect(statusOf(carol)).toBe("admitted");
    expect(rosterIds(bob)).toContain(idOf(carol));
    expect(carol.installed.get(carol.sending)).toBe(bob.installed.get(bob.sending));
  });
});
