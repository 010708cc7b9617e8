// The core must reproduce every derivation vector made by test/vectors/generate.mjs (node:crypto).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { fromBase64url, toBase64url } from "../../web/src/core/base64url.js";
import {
  announceKeyOf,
  type CallSecret,
  decodeCallSecret,
  keyCheckOf,
  participantIdOf,
  profileKeyOf,
  ratchetGroupKey,
  roomIdOf,
  senderKeyOf,
} from "../../web/src/core/identifiers.js";

const Vector = z.object({
  callSecret: z.string(),
  roomId: z.string(),
  userId: z.string(),
  deviceId: z.string(),
  participantId: z.string(),
  announceKey: z.string(),
  groupKey: z.string(),
  nextGroupKey: z.string(),
  senderKey: z.string(),
  profileKey: z.string(),
  keyCheck: z.string(),
});
const File = z.object({ source: z.string(), vectors: z.array(Vector).min(3) });
const file = File.parse(
  JSON.parse(readFileSync(new URL("../vectors/derivations.json", import.meta.url), "utf8")),
);

describe("derivation vectors (docs/key-schedule.md, Derivations) from node:crypto", () => {
  it.each(file.vectors.map((vector, index) => [index, vector] as const))(
    "vector %i",
    (_, vector) => {
      const secret: CallSecret = decodeCallSecret(vector.callSecret);
      const groupKey = fromBase64url(vector.groupKey);
      expect(roomIdOf(secret)).toBe(vector.roomId);
      expect(participantIdOf(secret, vector.userId, vector.deviceId)).toBe(vector.participantId);
      expect(toBase64url(announceKeyOf(secret))).toBe(vector.announceKey);
      expect(toBase64url(profileKeyOf(secret))).toBe(vector.profileKey);
      expect(toBase64url(ratchetGroupKey(groupKey))).toBe(vector.nextGroupKey);
      expect(toBase64url(senderKeyOf(groupKey, vector.participantId))).toBe(vector.senderKey);
      expect(toBase64url(keyCheckOf(groupKey))).toBe(vector.keyCheck);
    },
  );
});
