// Turns one raw client WebSocket frame into a checked ClientMessage, or into the refusal
// docs/protocol.md prescribes for it. Pure: the Room shell and the unit tests feed it frames
// directly. Refusal messages describe the problem but never echo the client's bytes back (or into a
// log).
import type { z } from "zod";
import { assertNever, isRecord } from "../../protocol/guards";
import { STRUCTURE_LIMITS, scanStructure } from "./frame-scan";
import { ClientMessage, decodedLength, LIMITS, PROTOCOL_VERSION } from "../../protocol/signalling";

type FrameRefusalCode = "bad_message" | "payload_too_large" | "unsupported_version";
interface FrameRefusal {
  code: FrameRefusalCode;
  message: string;
}
type FrameResult = { ok: true; message: ClientMessage } | { ok: false; refusal: FrameRefusal };

const refuse = (code: FrameRefusalCode, message: string): FrameResult => ({
  ok: false,
  refusal: { code, message },
});

/** UTF-8 length without allocating when the answer is already clear from the UTF-16 length. */
function exceedsFrameLimit(text: string): boolean {
  if (text.length > LIMITS.frameBytes) return true;
  if (text.length * 3 <= LIMITS.frameBytes) return false;
  return new TextEncoder().encode(text).byteLength > LIMITS.frameBytes;
}

function describeIssues(error: z.ZodError): string {
  const [first] = error.issues;
  if (!first) return "malformed message";
  const where = first.path.length > 0 ? first.path.join(".") : "message";
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problems)` : "";
  return `${where}: ${first.message}${more}`.slice(0, 300);
}

/** Size limits are checked after the schema so each has its own code (`payload_too_large`). */
function checkSizes(message: ClientMessage): FrameResult {
  switch (message.type) {
    case "join":
      if (decodedLength(message.announcement) > LIMITS.announcementBytes)
        return refuse(
          "payload_too_large",
          `announcement exceeds ${LIMITS.announcementBytes} bytes decoded`,
        );
      break;
    case "send": {
      if (message.messages.length > LIMITS.sendItems)
        return refuse("payload_too_large", `send carries more than ${LIMITS.sendItems} items`);
      const index = message.messages.findIndex(
        (item) => decodedLength(item.payload) > LIMITS.payloadBytes,
      );
      if (index >= 0)
        return refuse(
          "payload_too_large",
          `messages.${index}.payload exceeds ${LIMITS.payloadBytes} bytes decoded; nothing was sent`,
        );
      break;
    }
    case "broadcast":
      if (decodedLength(message.payload) > LIMITS.payloadBytes)
        return refuse("payload_too_large", `payload exceeds ${LIMITS.payloadBytes} bytes decoded`);
      break;
    case "token":
    case "leave":
      break;
    default:
      return assertNever(message);
  }
  return { ok: true, message };
}

/**
 * Every step before the schema is bounded by the frame's size or structure, so no frame costs more
 * than a small constant; and whatever goes wrong inside, the answer is `bad_message`, never a throw
 * that would close the socket as an internal error.
 */
export function parseClientFrame(data: string | ArrayBuffer): FrameResult {
  try {
    return parseBounded(data);
  } catch {
    return refuse("bad_message", "malformed message");
  }
}

function parseBounded(data: string | ArrayBuffer): FrameResult {
  if (typeof data !== "string")
    return refuse("bad_message", "binary frames are not part of the protocol; send JSON text");
  if (exceedsFrameLimit(data))
    return refuse("payload_too_large", `frame exceeds ${LIMITS.frameBytes} bytes`);
  switch (scanStructure(data)) {
    case "too_deep":
      return refuse("bad_message", `JSON nests deeper than ${STRUCTURE_LIMITS.depth} levels`);
    case "too_many_values":
      return refuse("payload_too_large", `frame holds more than ${STRUCTURE_LIMITS.values} values`);
    case "ok":
      break;
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return refuse("bad_message", "frame is not valid JSON");
  }
  if (!isRecord(json)) return refuse("bad_message", "frame must be a JSON object");
  // The version is checked before the shape: a future version may well look different.
  if (json.type === "join" && typeof json.v === "number" && json.v !== PROTOCOL_VERSION)
    return refuse(
      "unsupported_version",
      `protocol version ${PROTOCOL_VERSION} only; this server does not speak the version sent`,
    );
  // Cheap before the schema, which would check every item first.
  if (
    json.type === "send" &&
    Array.isArray(json.messages) &&
    json.messages.length > LIMITS.sendItems
  )
    return refuse("payload_too_large", `send carries more than ${LIMITS.sendItems} items`);
  const parsed = ClientMessage.safeParse(json);
  if (!parsed.success) return refuse("bad_message", describeIssues(parsed.error));
  return checkSizes(parsed.data);
}
