// A waiting joiner's knock in an ask-to-join call (docs/admission.md, Names): its display name,
// sent in an envelope to each host and co-host it has proven, so that only they read who asks to
// join. Its announcement names nobody (the call secret that opens announcements is the link, and
// the link is all a waiting joiner has). Envelope epoch 0: a knock is not a key message.
import { z } from "zod";
import { DISPLAY_NAME_MAX } from "./announcement.js";
import { fromUtf8, utf8 } from "./bytes.js";

export const KNOCK_EPOCH = 0;

const Knock = z
  .object({
    v: z.literal(1),
    type: z.literal("knock"),
    displayName: z.string().max(DISPLAY_NAME_MAX),
  })
  .strict();

export function encodeKnock(displayName: string): Uint8Array {
  return utf8(JSON.stringify(Knock.parse({ v: 1, type: "knock", displayName })));
}

/** The display name of a knock; throws on anything else. */
export function decodeKnock(plaintext: Uint8Array): string {
  return Knock.parse(JSON.parse(fromUtf8(plaintext))).displayName;
}
