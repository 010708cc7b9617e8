// The binary formats of docs/key-schedule.md (announcements, liveness hellos, envelopes,
// broadcasts) written a second time with Node's own crypto (OpenSSL), from the page rather than
// from the core, which uses @noble. generate-formats.ts makes the known-answer vectors with it and
// test/core/format-vectors.test.ts opens what the core produces with it, so a shared mistake would
// have to be made twice, in two libraries.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  sign,
  timingSafeEqual,
  verify,
} from "node:crypto";

const b64u = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url");
const text = (value: string): Buffer => Buffer.from(value, "utf8");
const u32 = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
};

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, text(info), length));
}

const sha256 = (bytes: Uint8Array): Buffer => createHash("sha256").update(bytes).digest();
const hmac = (key: Uint8Array, data: Uint8Array): Buffer =>
  createHmac("sha256", key).update(data).digest();

// Raw 32-byte keys as KeyObjects: the fixed DER prefixes of RFC 8410's PKCS#8 and SPKI forms.
const PKCS8 = {
  x25519: "302e020100300506032b656e04220420",
  ed25519: "302e020100300506032b657004220420",
};
const SPKI = { x25519: "302a300506032b656e032100", ed25519: "302a300506032b6570032100" };
type Curve = keyof typeof PKCS8;

function privateKeyOf(curve: Curve, raw: Uint8Array): KeyObject {
  const der = Buffer.concat([Buffer.from(PKCS8[curve], "hex"), raw]);
  return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
}

function publicKeyObjectOf(curve: Curve, raw: Uint8Array): KeyObject {
  const der = Buffer.concat([Buffer.from(SPKI[curve], "hex"), raw]);
  return createPublicKey({ key: der, format: "der", type: "spki" });
}

export function publicKeyOf(curve: Curve, secret: Uint8Array): Buffer {
  const jwk = createPublicKey(privateKeyOf(curve, secret)).export({ format: "jwk" });
  return Buffer.from(String(jwk.x), "base64url");
}

// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): OpenSSL has only the 12-byte-nonce AEAD, so the
// 24-byte nonce's subkey, HChaCha20, is recovered from one raw ChaCha20 block. OpenSSL's 16-byte
// ChaCha20 IV fills state words 12..15, exactly where HChaCha20 puts its 16-byte nonce; a block is
// rounds(state) + state, so subtracting the known words 0..3 and 12..15 leaves HChaCha20's output.
const SIGMA = text("expand 32-byte k");

export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Buffer {
  const cipher = createCipheriv("chacha20", key, nonce16);
  const block = Buffer.concat([cipher.update(Buffer.alloc(64)), cipher.final()]);
  const out = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE((block.readUInt32LE(i * 4) - SIGMA.readUInt32LE(i * 4)) >>> 0, i * 4);
    const word = (block.readUInt32LE(48 + i * 4) - Buffer.from(nonce16).readUInt32LE(i * 4)) >>> 0;
    out.writeUInt32LE(word, 16 + i * 4);
  }
  return out;
}

function xchachaParts(key: Uint8Array, nonce24: Uint8Array): [Buffer, Buffer] {
  const subkey = hchacha20(key, nonce24.subarray(0, 16));
  return [subkey, Buffer.concat([Buffer.alloc(4), nonce24.subarray(16, 24)])];
}

export function xchachaSeal(
  key: Uint8Array,
  nonce24: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Buffer {
  const [subkey, nonce12] = xchachaParts(key, nonce24);
  const cipher = createCipheriv("chacha20-poly1305", subkey, nonce12, { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext, or null when the tag does not verify. */
export function xchachaOpen(
  key: Uint8Array,
  nonce24: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Buffer | null {
  if (sealed.length < 16) return null;
  const [subkey, nonce12] = xchachaParts(key, nonce24);
  const decipher = createDecipheriv("chacha20-poly1305", subkey, nonce12, { authTagLength: 16 });
  decipher.setAAD(aad, { plaintextLength: sealed.length - 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - 16)),
      decipher.final(),
    ]);
  } catch {
    return null;
  }
}

// Derivations (docs/key-schedule.md): "no salt" is RFC 5869's default, HashLen zero bytes.
const NO_SALT = Buffer.alloc(0);

export function callContextOf(callSecret: Uint8Array) {
  return {
    roomId: b64u(hkdf(callSecret, NO_SALT, "hush/v1 room id", 16)),
    announceKey: hkdf(callSecret, NO_SALT, "hush/v1 announce", 32),
    profileKey: hkdf(callSecret, NO_SALT, "hush/v1 profile", 32),
  };
}
export type NodeCallContext = ReturnType<typeof callContextOf>;

export function participantIdOf(callSecret: Uint8Array, userId: string, deviceId: string): string {
  const key = hkdf(callSecret, NO_SALT, "hush/v1 participant id", 32);
  return b64u(
    hmac(key, Buffer.concat([text(userId), Buffer.from([0]), text(deviceId)])).subarray(0, 16),
  );
}

export function keyCheckOf(groupKey: Uint8Array): Buffer {
  return hkdf(groupKey, NO_SALT, "hush/v1 key check", 16);
}

/** X25519 through crypto.diffieHellman with KeyObjects. */
export function x25519(secret: Uint8Array, peerPublic: Uint8Array): Buffer {
  return diffieHellman({
    privateKey: privateKeyOf("x25519", secret),
    publicKey: publicKeyObjectOf("x25519", peerPublic),
  });
}

/** The envelope ("hush/v1 envelope") or hello ("hush/v1 hello") key of the direction from → to. */
export function pairKeyOf(
  label: "hush/v1 envelope" | "hush/v1 hello",
  roomId: string,
  shared: Uint8Array,
  from: string,
  to: string,
): Buffer {
  return hkdf(shared, text(roomId), `${label}${from}${to}`, 32);
}

// Announcements.
export interface NodeAnnouncementInput {
  readonly participantId: string;
  readonly x25519Public: Uint8Array;
  readonly ed25519Public: Uint8Array;
  readonly nonce: Uint8Array;
  readonly profileNonce: Uint8Array;
  readonly displayName: string;
}

const profileAad = (roomId: string, participantId: string) =>
  text(`hush/v1 profile\0${roomId}\0${participantId}`);

export function createAnnouncement(context: NodeCallContext, input: NodeAnnouncementInput): Buffer {
  const sealed = xchachaSeal(
    context.profileKey,
    input.profileNonce,
    profileAad(context.roomId, input.participantId),
    text(JSON.stringify({ displayName: input.displayName })),
  );
  const length = Buffer.alloc(2);
  length.writeUInt16BE(sealed.length);
  const body = Buffer.concat([
    Buffer.from([1]),
    Buffer.from(input.participantId, "base64url"),
    input.x25519Public,
    input.ed25519Public,
    input.nonce,
    input.profileNonce,
    length,
    sealed,
  ]);
  return Buffer.concat([
    body,
    hmac(context.announceKey, Buffer.concat([text(context.roomId), body])),
  ]);
}

/** The announcement's fields, or null for anything that does not verify. */
export function verifyAnnouncement(
  context: NodeCallContext,
  participantId: string,
  bytes: Uint8Array,
): NodeAnnouncementInput | null {
  const all = Buffer.from(bytes);
  if (all.length <= 32 || all.length > 1024) return null;
  const body = all.subarray(0, all.length - 32);
  const mac = hmac(context.announceKey, Buffer.concat([text(context.roomId), body]));
  if (!timingSafeEqual(mac, all.subarray(all.length - 32))) return null;
  const fixed = 1 + 16 + 32 + 32 + 16 + 24 + 2;
  if (body.length < fixed || body[0] !== 1) return null;
  if (!body.subarray(1, 17).equals(Buffer.from(participantId, "base64url"))) return null;
  if (body.length !== fixed + body.readUInt16BE(fixed - 2)) return null;
  const profileNonce = body.subarray(97, 121);
  const plaintext = xchachaOpen(
    context.profileKey,
    profileNonce,
    profileAad(context.roomId, participantId),
    body.subarray(fixed),
  );
  if (plaintext === null) return null;
  return {
    participantId,
    x25519Public: body.subarray(17, 49),
    ed25519Public: body.subarray(49, 81),
    nonce: body.subarray(81, 97),
    profileNonce,
    displayName: JSON.parse(plaintext.toString("utf8")).displayName,
  };
}

// Liveness hellos.
export interface NodeHelloParties {
  readonly roomId: string;
  readonly from: string;
  readonly to: string;
  readonly fromAnnouncement: Uint8Array;
  readonly toAnnouncement: Uint8Array;
}

function helloMac(parties: NodeHelloParties, helloKey: Uint8Array, flags: number): Buffer {
  return hmac(
    helloKey,
    Buffer.concat([
      text(`hush/v1 hello\0${parties.roomId}\0${parties.from}\0${parties.to}\0`),
      sha256(parties.fromAnnouncement),
      sha256(parties.toAnnouncement),
      Buffer.from([flags]),
    ]),
  );
}

export function makeHello(
  parties: NodeHelloParties,
  helloKey: Uint8Array,
  answerMe: boolean,
): Buffer {
  const flags = answerMe ? 1 : 0;
  return Buffer.concat([Buffer.from([0x48, flags]), helloMac(parties, helloKey, flags)]);
}

/** The answer-me flag, or null for anything that is not a valid hello. */
export function checkHello(
  parties: NodeHelloParties,
  helloKey: Uint8Array,
  bytes: Uint8Array,
): boolean | null {
  const hello = Buffer.from(bytes);
  if (hello.length !== 34 || hello[0] !== 0x48 || (hello[1] ?? 0) > 1) return null;
  const flags = hello[1] ?? 0;
  return timingSafeEqual(hello.subarray(2), helloMac(parties, helloKey, flags))
    ? flags === 1
    : null;
}

// Envelopes.
const envelopeAad = (roomId: string, sender: string, recipient: string, header: Uint8Array) =>
  Buffer.concat([text(`hush/v1 envelope\0${roomId}\0${sender}\0${recipient}\0`), header]);

export interface NodeEnvelopeParties {
  readonly roomId: string;
  readonly sender: string;
  readonly recipient: string;
  /** The envelope key of the direction sender → recipient. */
  readonly key: Uint8Array;
}

export function sealEnvelope(
  parties: NodeEnvelopeParties,
  epoch: number,
  counter: number,
  nonce: Uint8Array,
  plaintext: Uint8Array,
): Buffer {
  const header = Buffer.concat([Buffer.from([1]), u32(epoch), u32(counter)]);
  const aad = envelopeAad(parties.roomId, parties.sender, parties.recipient, header);
  return Buffer.concat([header, nonce, xchachaSeal(parties.key, nonce, aad, plaintext)]);
}

/** Epoch, counter and plaintext, or null when it does not decrypt (no replay state here). */
export function openEnvelope(parties: NodeEnvelopeParties, bytes: Uint8Array) {
  const all = Buffer.from(bytes);
  if (all.length < 33 + 16 || all.length > 64 * 1024 || all[0] !== 1) return null;
  const aad = envelopeAad(parties.roomId, parties.sender, parties.recipient, all.subarray(0, 9));
  const plaintext = xchachaOpen(parties.key, all.subarray(9, 33), aad, all.subarray(33));
  if (plaintext === null) return null;
  return { epoch: all.readUInt32BE(1), counter: all.readUInt32BE(5), plaintext };
}

// Broadcasts.
export interface NodeBroadcast {
  readonly kind: "ratchet" | "commit";
  readonly epoch: number;
  readonly chainStart: number;
  readonly leaderSeq: number;
  readonly keyCheck: Uint8Array;
}

const KINDS = { ratchet: 1, commit: 2 } as const;
const broadcastPrefix = (roomId: string, leaderId: string) =>
  text(`hush/v1 broadcast\0${roomId}\0${leaderId}\0`);

export function signBroadcast(
  roomId: string,
  leaderId: string,
  ed25519Seed: Uint8Array,
  body: NodeBroadcast,
): Buffer {
  const encoded = Buffer.concat([
    Buffer.from([1, KINDS[body.kind]]),
    u32(body.epoch),
    u32(body.chainStart),
    u32(body.leaderSeq),
    body.keyCheck,
  ]);
  const message = Buffer.concat([broadcastPrefix(roomId, leaderId), encoded]);
  return Buffer.concat([encoded, sign(null, message, privateKeyOf("ed25519", ed25519Seed))]);
}

/** The broadcast's fields, or null when the signature or layout is wrong. */
export function verifyBroadcast(
  roomId: string,
  leaderId: string,
  ed25519Public: Uint8Array,
  bytes: Uint8Array,
): NodeBroadcast | null {
  const all = Buffer.from(bytes);
  if (all.length !== 30 + 64) return null;
  const encoded = all.subarray(0, 30);
  const message = Buffer.concat([broadcastPrefix(roomId, leaderId), encoded]);
  const key = publicKeyObjectOf("ed25519", ed25519Public);
  if (!verify(null, message, key, all.subarray(30))) return null;
  const kind = encoded[1] === 1 ? "ratchet" : encoded[1] === 2 ? "commit" : null;
  if (encoded[0] !== 1 || kind === null) return null;
  return {
    kind,
    epoch: encoded.readUInt32BE(2),
    chainStart: encoded.readUInt32BE(6),
    leaderSeq: encoded.readUInt32BE(10),
    keyCheck: encoded.subarray(14, 30),
  };
}
