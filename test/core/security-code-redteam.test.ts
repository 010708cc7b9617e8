// Red team of the security code's settle (docs/key-schedule.md, Security code). A member who knows
// the call secret, with the server's help, swaps the newest member's keys for its own in the others'
// rosters: the server tells them the member left and joined again under the same id and seq with a
// fresh announcement, and delivers a hello made for it ahead of time, all within one 0.1 s settle.
// The others now verify that id with the attacker's keys, so their code must differ from the
// victim's own, or comparing codes would not show the swap.
import { describe, expect, it } from "vitest";
import { createAnnouncement, verifyAnnouncement } from "../../web/src/core/announcement.js";
import { fromBase64url, toBase64url } from "../../web/src/core/base64url.js";
import { callContextOf, generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { EnvelopeChannel } from "../../web/src/core/envelope.js";
import { makeHello } from "../../web/src/core/liveness.js";
import { keyedCall } from "./sim/keyed-call.js";

describe("security code under a key swap within one settle", () => {
  it("differs between the victim and the members who were shown the attacker's keys", () => {
    const world = keyedCall(3, 41);
    const [first, second, victim] = world.clients;
    const victimConnection = victim?.current?.connection;
    const { participantId, seq } = victimConnection ?? {};
    if (!first || !second || !victim || participantId === undefined || seq === undefined)
      throw new Error("setup");
    const codeBefore = victim.securityCode;
    expect(world.clients.map((c) => c.securityCode)).toEqual([codeBefore, codeBefore, codeBefore]);

    const context = callContextOf(world.secret);
    const keys = generateCallKeyPairs(world.random);
    const forged = createAnnouncement(context, participantId, keys, "Client 2", world.random);
    for (const target of [first, second]) {
      const connection = target.current?.connection;
      if (!connection?.participantId || !connection.announcement) throw new Error("setup");
      const targetAnnouncement = fromBase64url(connection.announcement);
      const targetKeys = verifyAnnouncement(context, connection.participantId, targetAnnouncement);
      const channel = new EnvelopeChannel(
        context.roomId,
        participantId,
        keys.x25519.secretKey,
        connection.participantId,
        targetKeys.x25519PublicKey,
      );
      const hello = makeHello(
        {
          roomId: context.roomId,
          from: participantId,
          to: connection.participantId,
          fromAnnouncement: forged,
          toAnnouncement: targetAnnouncement,
        },
        channel.helloSendKey,
        { answerMe: false },
      );
      world.relay.dispatch(connection, { type: "member-left", participantId, seq });
      world.relay.dispatch(connection, {
        type: "member-joined",
        member: { participantId, seq, announcement: toBase64url(forged) },
      });
      world.relay.dispatch(connection, {
        type: "message",
        from: participantId,
        payload: toBase64url(hello),
      });
    }
    world.run(1_000);

    for (const target of [first, second]) {
      // The swap took: the target verified the victim's id under the attacker's keys...
      expect(target.session.isVerified(participantId)).toBe(true);
      // ...and its code shows it: it no longer matches the victim's.
      expect(target.securityCode).not.toBe("");
      expect(target.securityCode).not.toBe(codeBefore);
      expect(target.securityCode).not.toBe(victim.securityCode);
    }
    expect(first.securityCode).toBe(second.securityCode);
    expect(victim.securityCode).toBe(codeBefore);
  });
});
