// A cheap look at a frame's structure before it is parsed: one pass over the text, no allocation,
// counting how deep its JSON nests and how many values it holds. What JSON.parse and the schema then
// do grows with those numbers (a `send` with 100,000 malformed items cost the room tens of
// milliseconds, and enough of them overflowed the validator's stack), so a frame outside the bounds
// is refused here, at the cost of reading its characters once.

/** Bounds on a frame's JSON structure (an addition to the protocol: docs/protocol.md, Limits). */
export const STRUCTURE_LIMITS = {
  /** Deepest nesting of objects and arrays; a `send` nests 3 deep, extensions may add a few. */
  depth: 16,
  /**
   * Most values (containers, object members and array elements, each counted once). A `send` of
   * 1,000 items holds about 5,000; a frame beyond this bound cannot be a valid message.
   */
  values: 8_000,
} as const;

type StructureVerdict = "ok" | "too_deep" | "too_many_values";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Scans JSON text (valid or not) for its nesting depth and value count outside strings. Malformed
 * text may pass; JSON.parse then refuses it, at a cost bounded by these same limits.
 */
export function scanStructure(text: string): StructureVerdict {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    switch (c) {
      case QUOTE:
        inString = true;
        break;
      case OPEN_BRACE:
      case OPEN_BRACKET:
        if (++depth > STRUCTURE_LIMITS.depth) return "too_deep";
        // The first value of a container (the rest are counted at their commas).
        if (++values > STRUCTURE_LIMITS.values) return "too_many_values";
        break;
      case CLOSE_BRACE:
      case CLOSE_BRACKET:
        depth--;
        break;
      case COMMA:
      case COLON:
        if (++values > STRUCTURE_LIMITS.values) return "too_many_values";
        break;
    }
  }
  return "ok";
}
