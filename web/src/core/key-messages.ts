// The plaintexts carried inside envelopes (docs/key-schedule.md, Key messages): key delivery,
// acknowledgement of a fresh key, and key request. JSON parsed with zod after decryption; `v`
// versions the format and the envelope header's epoch must equal the inner `epoch` (checked by the
// session). Version 2 writes a key's holders as runs (holder-runs.ts); version 1 is still read.
import { z } from "zod";
import { assertNever } from "../../../protocol/guards.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import { fromUtf8, utf8 } from "./bytes.js";
import { HolderRuns, holderRunsOf, seqsOfRuns } from "./holder-runs.js";

/** Written. Readers of version 1 refuse it: their holders could not hold a run. */
const KEY_MESSAGE_VERSION = 2;
/** Acks and key requests are as in version 1, and are written so. */
const UNCHANGED_VERSION = 1;
/** Read too: a version-1 sender's holders are single seqs only, which is still a valid list. */
const Version = z.union([z.literal(KEY_MESSAGE_VERSION), z.literal(UNCHANGED_VERSION)]);

const Epoch = z.number().int().min(1).max(0xffffffff);
const Seq = z.number().int().nonnegative().max(0xffffffff);
const GroupKeyText = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be a 32-byte base64url key");

/**
 * How a delivered key is to be used: `fresh` is installed for decryption and acknowledged, then used
 * on "commit"; `ratchet-join` (to a joiner) and `current` (answer to a key request) are used at once.
 */
export const KEY_KINDS = ["fresh", "ratchet-join", "current"] as const;
type KeyKind = (typeof KEY_KINDS)[number];

const KeyDeliveryMessage = z.object({
  v: Version,
  type: z.literal("key"),
  epoch: Epoch,
  groupKey: GroupKeyText,
  kind: z.enum(KEY_KINDS),
  /** The epoch where this key's ratchet chain starts (its last fresh key): bounds look-ahead. */
  chainStart: Epoch,
  leaderSeq: Seq,
  /**
   * Join seqs of every member the leader has let hold this key's chain (the fresh key's recipients,
   * later joiners, the leader). A member that sees one of them leave stops sending with the chain
   * after its lock-out deadline (docs/key-schedule.md, Lock-out).
   */
  holders: HolderRuns,
});
const AckMessage = z.object({
  v: Version,
  type: z.literal("ack"),
  epoch: Epoch,
  /** The acknowledger's sending epoch; at or above `epoch` means the key came too late (stale). */
  have: z.number().int().nonnegative().max(0xffffffff),
});
const KeyRequestMessage = z.object({
  v: Version,
  type: z.literal("key-request"),
  /** The highest epoch the requester knows of (keeps envelope epochs non-decreasing). */
  epoch: z.number().int().nonnegative().max(0xffffffff),
  /** The epoch the requester sends with, 0 without a key. */
  have: z.number().int().nonnegative().max(0xffffffff),
});

const KeyMessage = z.discriminatedUnion("type", [
  KeyDeliveryMessage,
  AckMessage,
  KeyRequestMessage,
]);
type KeyMessage = z.infer<typeof KeyMessage>;

/** A key message in memory, with the group key as bytes. */
export type KeyMessageBody =
  | {
      type: "key";
      epoch: number;
      groupKey: Uint8Array;
      kind: KeyKind;
      chainStart: number;
      leaderSeq: number;
      holders: readonly number[];
    }
  | { type: "ack"; epoch: number; have: number }
  | { type: "key-request"; epoch: number; have: number };

export function encodeKeyMessage(body: KeyMessageBody): Uint8Array {
  const wire: KeyMessage =
    body.type === "key"
      ? {
          ...body,
          v: KEY_MESSAGE_VERSION,
          groupKey: toBase64url(body.groupKey),
          holders: holderRunsOf(body.holders),
        }
      : // Unchanged since version 1, and written as such: a leader still on version 1 reads them.
        { ...body, v: UNCHANGED_VERSION };
  return utf8(JSON.stringify(KeyMessage.parse(wire)));
}

/** Throws on anything that is not a well-formed key message of this version. */
export function decodeKeyMessage(plaintext: Uint8Array): KeyMessageBody {
  const parsed = KeyMessage.parse(JSON.parse(fromUtf8(plaintext)));
  switch (parsed.type) {
    case "key":
      return {
        type: "key",
        epoch: parsed.epoch,
        groupKey: fromBase64url(parsed.groupKey),
        kind: parsed.kind,
        chainStart: parsed.chainStart,
        leaderSeq: parsed.leaderSeq,
        holders: seqsOfRuns(parsed.holders),
      };
    case "ack":
      return { type: "ack", epoch: parsed.epoch, have: parsed.have };
    case "key-request":
      return { type: "key-request", epoch: parsed.epoch, have: parsed.have };
    default:
      return assertNever(parsed);
  }
}
