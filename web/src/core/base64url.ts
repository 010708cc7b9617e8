// Base64url without padding (RFC 4648 §5): the text form of every id, key and payload on the wire and
// in links. Written out by hand because `btoa`/`Buffer` are not both available in browsers and Node.
// Every envelope passes through here twice, so both directions work on character codes with lookup
// tables rather than on one-character strings.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ENCODE = Uint8Array.from(ALPHABET, (char) => char.charCodeAt(0));
/** Character code → digit, -1 for anything outside the alphabet. */
const DECODE = new Int8Array(128).fill(-1);
for (let digit = 0; digit < ENCODE.length; digit++) DECODE[ENCODE[digit] ?? 0] = digit;
/** The alphabet is ASCII, so its codes are their own UTF-8: one native call turns them into text. */
const TEXT = new TextDecoder();

export function toBase64url(bytes: Uint8Array): string {
  const codes = new Uint8Array(Math.ceil((bytes.length * 4) / 3));
  let out = 0;
  const whole = bytes.length - (bytes.length % 3);
  for (let i = 0; i < whole; i += 3) {
    const triple = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    codes[out++] = ENCODE[triple >> 18] ?? 0;
    codes[out++] = ENCODE[(triple >> 12) & 63] ?? 0;
    codes[out++] = ENCODE[(triple >> 6) & 63] ?? 0;
    codes[out++] = ENCODE[triple & 63] ?? 0;
  }
  const rest = bytes.length - whole;
  if (rest > 0) {
    const triple = ((bytes[whole] ?? 0) << 16) | (rest === 2 ? (bytes[whole + 1] ?? 0) << 8 : 0);
    codes[out++] = ENCODE[triple >> 18] ?? 0;
    codes[out++] = ENCODE[(triple >> 12) & 63] ?? 0;
    if (rest === 2) codes[out++] = ENCODE[(triple >> 6) & 63] ?? 0;
  }
  return TEXT.decode(codes.subarray(0, out));
}

/** Decodes unpadded base64url; throws a clear error on any other input (padding, '+', '/', spaces). */
export function fromBase64url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new Error("not base64url: impossible length");
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let index = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const digit = code < 128 ? (DECODE[code] ?? -1) : -1;
    if (digit < 0) throw new Error("not base64url: unexpected character");
    value = ((value << 6) | digit) & 0xffffff;
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
