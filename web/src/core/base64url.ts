// Base64url without padding (RFC 4648 §5): the text form of every id, key and payload on the wire and
// in links. Written out by hand because `btoa`/`Buffer` are not both available in browsers and Node.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LOOKUP = new Map<string, number>([...ALPHABET].map((char, index) => [char, index]));

export function toBase64url(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i] ?? 0;
    const b1 = bytes[i + 1] ?? 0;
    const b2 = bytes[i + 2] ?? 0;
    const triple = (b0 << 16) | (b1 << 8) | b2;
    const chars = i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2;
    for (let c = 0; c < chars; c++) out += ALPHABET[(triple >> (18 - 6 * c)) & 63];
  }
  return out;
}

/** Decodes unpadded base64url; throws a clear error on any other input (padding, '+', '/', spaces). */
export function fromBase64url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new Error("not base64url: impossible length");
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let index = 0;
  for (const char of text) {
    const digit = LOOKUP.get(char);
    if (digit === undefined) throw new Error("not base64url: unexpected character");
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (value >> bits) & 0xff;
    }
  }
  // Canonical form only: leftover bits must be zero, so every byte string has exactly one text form.
  if ((value & ((1 << bits) - 1)) !== 0)
    throw new Error("not base64url: non-canonical trailing bits");
  return out;
}
