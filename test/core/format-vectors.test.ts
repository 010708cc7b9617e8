// Known answers for the binary formats (docs/key-schedule.md: announcements, liveness hellos,
// envelopes, broadcasts) made by test/vectors/generate-formats.ts with node:crypto. The core, fed
// the vectors' keys and nonces, must produce exactly their bytes and open them; and the node:crypto
// implementation must open what the core produces with its own randomness.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createAnnouncement, verifyAnnouncement } from "../../web/src/core/announcement.js";
import { fromBase64url, toBase64url } from "../../web/src/core/base64url.js";
import { signBroadcast, verifyBroadcast } from "../../web/src/core/broadcast.js";
import { callContextOf, generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { EnvelopeChannel, envelopeKeyOf, helloKeyOf } from "../../web/src/core/envelope.js";
import { type CallSecret, decodeCallSecret, keyCheckOf } from "../../web/src/core/identifiers.js";
import { checkHello, makeHello } from "../../web/src/core/liveness.js";
import { fixedRandom } from "../support/fixed-random.js";
import * as node from "../vectors/node-formats.js";
import { seededRandom } from "./sim/seeded-random.js";

const bytes = z.string().transform((text) => fromBase64url(text));
const Pair = {
  roomId: z.string(),
  from: z.string(),
  to: z.string(),
  fromX25519Secret: bytes,
  fromX25519Public: bytes,
  toX25519Secret: bytes,
  toX25519Public: bytes,
  sharedSecret: bytes,
};
const File = z.object({
  source: z.string(),
  announcements: z
    .array(
      z.object({
        callSecret: z.string(),
        roomId: z.string(),
        participantId: z.string(),
        x25519Secret: bytes,
        x25519Public: bytes,
        ed25519Seed: bytes,
        ed25519Public: bytes,
        nonce: bytes,
        profileNonce: bytes,
        displayName: z.string(),
        announcement: bytes,
      }),
    )
    .min(3),
  hellos: z
    .array(
      z.object({
        ...Pair,
        fromAnnouncement: bytes,
        toAnnouncement: bytes,
        answerMe: z.boolean(),
        helloKey: bytes,
        hello: bytes,
      }),
    )
    .min(3),
  envelopes: z
    .array(
      z.object({
        ...Pair,
        envelopeKey: bytes,
        envelopes: z
          .array(
            z.object({
              epoch: z.number(),
              counter: z.number(),
              nonce: bytes,
              plaintext: bytes,
              envelope: bytes,
            }),
          )
          .min(1),
      }),
    )
    .min(3),
  broadcasts: z
    .array(
      z.object({
        roomId: z.string(),
        leaderId: z.string(),
        ed25519Seed: bytes,
        ed25519Public: bytes,
        kind: z.enum(["ratchet", "commit"]),
        epoch: z.number(),
        chainStart: z.number(),
        leaderSeq: z.number(),
        groupKey: bytes,
        keyCheck: bytes,
        broadcast: bytes,
      }),
    )
    .min(3),
});
const file = File.parse(
  JSON.parse(readFileSync(new URL("../vectors/formats.json", import.meta.url), "utf8")),
);
const cases = <T>(list: T[]) => list.map((vector, index) => [index, vector] as const);

type PairVector = z.infer<z.ZodObject<typeof Pair>>;

/** Both ends of the vector's channel: the sender's, and the recipient's from the other side. */
function channelsOf(v: PairVector) {
  return {
    sender: new EnvelopeChannel(v.roomId, v.from, v.fromX25519Secret, v.to, v.toX25519Public),
    receiver: new EnvelopeChannel(v.roomId, v.to, v.toX25519Secret, v.from, v.fromX25519Public),
  };
}
const random = seededRandom("format vectors");

describe("the node:crypto implementation", () => {
  it("computes HChaCha20 as draft-irtf-cfrg-xchacha §2.2.1 does", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const nonce = Buffer.from("000000090000004a0000000031415927", "hex");
    expect(node.hchacha20(key, nonce).toString("hex")).toBe(
      "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc",
    );
  });
});

describe("announcement vectors (node:crypto)", () => {
  it.each(cases(file.announcements))("vector %i", (_, vector) => {
    const secret: CallSecret = decodeCallSecret(vector.callSecret);
    const context = callContextOf(secret);
    expect(context.roomId).toBe(vector.roomId);
    // The core's key generation draws the X25519 secret, then the Ed25519 seed.
    const keys = generateCallKeyPairs(fixedRandom(vector.x25519Secret, vector.ed25519Seed));
    expect(keys.x25519.publicKey).toEqual(vector.x25519Public);
    expect(keys.ed25519.publicKey).toEqual(vector.ed25519Public);
    // createAnnouncement draws the profile nonce, then the announcement nonce.
    const made = createAnnouncement(
      context,
      vector.participantId,
      keys,
      vector.displayName,
      fixedRandom(vector.profileNonce, vector.nonce),
    );
    expect(toBase64url(made)).toBe(toBase64url(vector.announcement));
    const opened = verifyAnnouncement(context, vector.participantId, vector.announcement);
    expect(opened).toEqual({
      participantId: vector.participantId,
      x25519PublicKey: vector.x25519Public,
      ed25519PublicKey: vector.ed25519Public,
      nonce: vector.nonce,
      displayName: vector.displayName,
    });
  });

  it.each(cases(file.announcements))("node:crypto verifies the core's, %i", (_, vector) => {
    const context = callContextOf(decodeCallSecret(vector.callSecret));
    const keys = generateCallKeyPairs(random);
    const made = createAnnouncement(
      context,
      vector.participantId,
      keys,
      vector.displayName,
      random,
    );
    const nodeContext = node.callContextOf(decodeCallSecret(vector.callSecret));
    const opened = node.verifyAnnouncement(nodeContext, vector.participantId, made);
    expect(opened?.displayName).toBe(vector.displayName);
    expect(opened?.x25519Public).toEqual(Buffer.from(keys.x25519.publicKey));
    expect(opened?.ed25519Public).toEqual(Buffer.from(keys.ed25519.publicKey));
  });
});

describe("liveness hello vectors (node:crypto)", () => {
  it.each(cases(file.hellos))("vector %i", (_, vector) => {
    const parties = {
      roomId: vector.roomId,
      from: vector.from,
      to: vector.to,
      fromAnnouncement: vector.fromAnnouncement,
      toAnnouncement: vector.toAnnouncement,
    };
    expect(helloKeyOf(vector.roomId, vector.sharedSecret, vector.from, vector.to)).toEqual(
      vector.helloKey,
    );
    const { sender, receiver } = channelsOf(vector);
    expect(sender.helloSendKey).toEqual(vector.helloKey);
    const made = makeHello(parties, sender.helloSendKey, { answerMe: vector.answerMe });
    expect(toBase64url(made)).toBe(toBase64url(vector.hello));
    expect(checkHello(parties, receiver.helloReceiveKey, vector.hello)).toEqual({
      answerMe: vector.answerMe,
    });
    expect(node.checkHello(parties, vector.helloKey, made)).toBe(vector.answerMe);
  });
});

describe("envelope vectors (node:crypto)", () => {
  it.each(cases(file.envelopes))("vector %i", (_, vector) => {
    expect(envelopeKeyOf(vector.roomId, vector.sharedSecret, vector.from, vector.to)).toEqual(
      vector.envelopeKey,
    );
    const { sender, receiver } = channelsOf(vector);
    for (const envelope of vector.envelopes) {
      const made = sender.seal(envelope.epoch, envelope.plaintext, fixedRandom(envelope.nonce));
      expect(toBase64url(made)).toBe(toBase64url(envelope.envelope));
      expect(receiver.open(envelope.envelope)).toEqual({
        epoch: envelope.epoch,
        counter: envelope.counter,
        plaintext: envelope.plaintext,
      });
    }
  });

  it.each(cases(file.envelopes))("node:crypto opens the core's, %i", (_, vector) => {
    const { sender } = channelsOf(vector);
    const parties = {
      roomId: vector.roomId,
      sender: vector.from,
      recipient: vector.to,
      key: vector.envelopeKey,
    };
    for (const [index, envelope] of vector.envelopes.entries()) {
      const made = sender.seal(envelope.epoch, envelope.plaintext, random);
      expect(node.openEnvelope(parties, made)).toEqual({
        epoch: envelope.epoch,
        counter: index + 1,
        plaintext: Buffer.from(envelope.plaintext),
      });
    }
  });
});

describe("broadcast vectors (node:crypto)", () => {
  it.each(cases(file.broadcasts))("vector %i", (_, vector) => {
    expect(keyCheckOf(vector.groupKey)).toEqual(vector.keyCheck);
    // RFC 8032 signatures are deterministic, so the core must sign to the very same bytes.
    const edKeys = generateCallKeyPairs(fixedRandom(new Uint8Array(32), vector.ed25519Seed));
    expect(edKeys.ed25519.publicKey).toEqual(vector.ed25519Public);
    const body = {
      kind: vector.kind,
      epoch: vector.epoch,
      chainStart: vector.chainStart,
      leaderSeq: vector.leaderSeq,
      keyCheck: vector.keyCheck,
    };
    const made = signBroadcast(vector.roomId, vector.leaderId, edKeys.ed25519.secretKey, body);
    expect(toBase64url(made)).toBe(toBase64url(vector.broadcast));
    expect(
      verifyBroadcast(vector.roomId, vector.leaderId, vector.ed25519Public, vector.broadcast),
    ).toEqual(body);
  });

  it.each(cases(file.broadcasts))("node:crypto verifies the core's, %i", (_, vector) => {
    const leader = generateCallKeyPairs(random);
    const body = {
      kind: vector.kind,
      epoch: vector.epoch,
      chainStart: vector.chainStart,
      leaderSeq: vector.leaderSeq,
      keyCheck: random(16),
    };
    const made = signBroadcast(vector.roomId, vector.leaderId, leader.ed25519.secretKey, body);
    expect(
      node.verifyBroadcast(vector.roomId, vector.leaderId, leader.ed25519.publicKey, made),
    ).toEqual({ ...body, keyCheck: Buffer.from(body.keyCheck) });
  });
});
