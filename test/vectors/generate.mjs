// Generates test/vectors/derivations.json from docs/key-schedule.md (Derivations) with Node's own
// crypto (OpenSSL's HKDF and HMAC), an implementation independent of the core under test (which
// uses @noble/hashes). Run: node test/vectors/generate.mjs > test/vectors/derivations.json
import { createHash, createHmac, hkdfSync } from "node:crypto";

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
// RFC 5869 HKDF-SHA256 with an empty salt, as docs/key-schedule.md specifies.
const hkdf = (ikm, info, length) =>
  Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), info, length));
// Deterministic inputs, so regenerating yields the same file.
const seeded = (label) => createHash("sha256").update(label).digest();

const cases = [
  { seed: "hush vector 1", userId: "alice", deviceId: "laptop" },
  { seed: "hush vector 2", userId: "bob@example.org", deviceId: "phone-7f3a" },
  { seed: "hush vector 3", userId: "Zoë Ångström 🎧", deviceId: "設備-1" },
  { seed: "hush vector 4", userId: "", deviceId: "" },
];

const vectors = cases.map(({ seed, userId, deviceId }) => {
  const callSecret = seeded(`${seed} call secret`);
  const groupKey = seeded(`${seed} group key`);
  const roomId = b64u(hkdf(callSecret, "hush/v1 room id", 16));
  const participantIdKey = hkdf(callSecret, "hush/v1 participant id", 32);
  const participantId = b64u(
    createHmac("sha256", participantIdKey)
      .update(
        Buffer.concat([
          Buffer.from(userId, "utf8"),
          Buffer.from([0]),
          Buffer.from(deviceId, "utf8"),
        ]),
      )
      .digest()
      .subarray(0, 16),
  );
  return {
    callSecret: b64u(callSecret),
    roomId,
    userId,
    deviceId,
    participantId,
    announceKey: b64u(hkdf(callSecret, "hush/v1 announce", 32)),
    groupKey: b64u(groupKey),
    nextGroupKey: b64u(hkdf(groupKey, "hush/v1 ratchet", 32)),
    senderKey: b64u(hkdf(groupKey, `hush/v1 sender ${participantId}`, 32)),
    profileKey: b64u(hkdf(callSecret, "hush/v1 profile", 32)),
    keyCheck: b64u(hkdf(groupKey, "hush/v1 key check", 16)),
  };
});

process.stdout.write(
  `${JSON.stringify({ source: "test/vectors/generate.mjs (node:crypto)", vectors }, null, 2)}\n`,
);
