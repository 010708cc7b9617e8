// Generates test/vectors/formats.json: known answers for announcements, liveness hellos, envelopes
// and broadcasts (docs/key-schedule.md), made with node-formats.ts (node:crypto), never with the
// core under test. Inputs are SHA-256 of fixed seed strings, so regenerating gives the same file.
// Run: npx tsx test/vectors/generate-formats.ts > test/vectors/formats.json
import { createHash } from "node:crypto";
import {
  callContextOf,
  createAnnouncement,
  keyCheckOf,
  makeHello,
  pairKeyOf,
  participantIdOf,
  publicKeyOf,
  sealEnvelope,
  signBroadcast,
  x25519,
} from "./node-formats.js";

const b64u = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url");
const seeded = (label: string, length = 32): Buffer =>
  createHash("sha256").update(label).digest().subarray(0, length);

interface Member {
  readonly callSecret: Buffer;
  readonly participantId: string;
  readonly x25519Secret: Buffer;
  readonly ed25519Seed: Buffer;
  readonly announcement: Buffer;
}

const announcements: Record<string, string | number>[] = [];

function member(call: string, userId: string, deviceId: string, displayName: string): Member {
  const seed = `hush format vector ${call} ${userId}`;
  const callSecret = seeded(`hush format vector ${call} call secret`);
  const context = callContextOf(callSecret);
  const participantId = participantIdOf(callSecret, userId, deviceId);
  const x25519Secret = seeded(`${seed} x25519`);
  const ed25519Seed = seeded(`${seed} ed25519`);
  const nonce = seeded(`${seed} nonce`, 16);
  const profileNonce = seeded(`${seed} profile nonce`, 24);
  const announcement = createAnnouncement(context, {
    participantId,
    x25519Public: publicKeyOf("x25519", x25519Secret),
    ed25519Public: publicKeyOf("ed25519", ed25519Seed),
    nonce,
    profileNonce,
    displayName,
  });
  announcements.push({
    callSecret: b64u(callSecret),
    roomId: context.roomId,
    participantId,
    x25519Secret: b64u(x25519Secret),
    x25519Public: b64u(publicKeyOf("x25519", x25519Secret)),
    ed25519Seed: b64u(ed25519Seed),
    ed25519Public: b64u(publicKeyOf("ed25519", ed25519Seed)),
    nonce: b64u(nonce),
    profileNonce: b64u(profileNonce),
    displayName,
    announcement: b64u(announcement),
  });
  return { callSecret, participantId, x25519Secret, ed25519Seed, announcement };
}

// Two calls: three members in the first, two in the second (an empty and a longest non-ASCII name).
const alice = member("1", "alice", "laptop", "Alice");
const bob = member("1", "bob@example.org", "phone-7f3a", "Bob 🎧");
const carol = member("1", "carol", "tablet", "Carol Ann Smith-Jones");
const dana = member("2", "dana", "desk", "");
const erin = member("2", "Zoë Ångström", "設備-1", "Ø".repeat(64));

const roomOf = (m: Member) => callContextOf(m.callSecret).roomId;
const shared = (from: Member, to: Member) =>
  x25519(from.x25519Secret, publicKeyOf("x25519", to.x25519Secret));

function pair(from: Member, to: Member) {
  return {
    roomId: roomOf(from),
    from: from.participantId,
    to: to.participantId,
    fromX25519Secret: b64u(from.x25519Secret),
    fromX25519Public: b64u(publicKeyOf("x25519", from.x25519Secret)),
    toX25519Secret: b64u(to.x25519Secret),
    toX25519Public: b64u(publicKeyOf("x25519", to.x25519Secret)),
    sharedSecret: b64u(shared(from, to)),
  };
}

function hello(from: Member, to: Member, answerMe: boolean) {
  const parties = {
    roomId: roomOf(from),
    from: from.participantId,
    to: to.participantId,
    fromAnnouncement: from.announcement,
    toAnnouncement: to.announcement,
  };
  const helloKey = pairKeyOf(
    "hush/v1 hello",
    parties.roomId,
    shared(from, to),
    parties.from,
    parties.to,
  );
  return {
    ...pair(from, to),
    fromAnnouncement: b64u(from.announcement),
    toAnnouncement: b64u(to.announcement),
    answerMe,
    helloKey: b64u(helloKey),
    hello: b64u(makeHello(parties, helloKey, answerMe)),
  };
}

/** One direction of a channel: its envelopes carry counters 1, 2, ... in order. */
function channel(from: Member, to: Member, messages: [epoch: number, plaintext: Uint8Array][]) {
  const roomId = roomOf(from);
  const key = pairKeyOf(
    "hush/v1 envelope",
    roomId,
    shared(from, to),
    from.participantId,
    to.participantId,
  );
  const parties = { roomId, sender: from.participantId, recipient: to.participantId, key };
  return {
    ...pair(from, to),
    envelopeKey: b64u(key),
    envelopes: messages.map(([epoch, plaintext], index) => {
      const counter = index + 1;
      const nonce = seeded(`hush format vector envelope ${from.participantId} ${counter}`, 24);
      return {
        epoch,
        counter,
        nonce: b64u(nonce),
        plaintext: b64u(plaintext),
        envelope: b64u(sealEnvelope(parties, epoch, counter, nonce, plaintext)),
      };
    }),
  };
}

function broadcast(
  leader: Member,
  kind: "ratchet" | "commit",
  epoch: number,
  chainStart: number,
  leaderSeq: number,
) {
  const groupKey = seeded(`hush format vector group key ${epoch}`);
  const body = { kind, epoch, chainStart, leaderSeq, keyCheck: keyCheckOf(groupKey) };
  return {
    roomId: roomOf(leader),
    leaderId: leader.participantId,
    ed25519Seed: b64u(leader.ed25519Seed),
    ed25519Public: b64u(publicKeyOf("ed25519", leader.ed25519Seed)),
    kind,
    epoch,
    chainStart,
    leaderSeq,
    groupKey: b64u(groupKey),
    keyCheck: b64u(body.keyCheck),
    broadcast: b64u(signBroadcast(roomOf(leader), leader.participantId, leader.ed25519Seed, body)),
  };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8");
const groupKey = b64u(seeded("hush format vector group key 1"));

const file = {
  source: "test/vectors/generate-formats.ts (node:crypto via test/vectors/node-formats.ts)",
  announcements,
  hellos: [
    hello(alice, bob, true),
    hello(bob, alice, false),
    hello(carol, alice, true),
    hello(erin, dana, false),
  ],
  envelopes: [
    channel(alice, bob, [
      [
        1,
        json({
          v: 1,
          type: "key",
          epoch: 1,
          groupKey,
          kind: "fresh",
          chainStart: 1,
          leaderSeq: 1,
          holders: [1, 2],
        }),
      ],
      [1, new Uint8Array(0)],
      [7, seeded("hush format vector binary plaintext").subarray(0, 20)],
    ]),
    channel(bob, alice, [[1, json({ v: 1, type: "ack", epoch: 1, have: 0 })]]),
    channel(dana, erin, [
      [0xffffffff, json({ v: 1, type: "key-request", epoch: 0xffffffff, have: 0 })],
    ]),
  ],
  broadcasts: [
    broadcast(alice, "ratchet", 2, 1, 1),
    broadcast(alice, "commit", 11, 11, 1),
    broadcast(dana, "commit", 0xffffffff, 0xfffffff0, 0xffffffff),
  ],
};

process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
