// A bounds-checked cursor over a binary payload. Every binary format of the core (announcement,
// envelope, broadcast) is parsed with it, so a truncated or padded payload is an error, never a
// silent short read.
import { CryptoError, type CryptoFormat } from "./crypto-error.js";

export class ByteReader {
  private offset = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly format: CryptoFormat,
  ) {}

  /** Reads `length` bytes as a copy, so the result never aliases the caller's buffer. */
  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length)
      throw new CryptoError(this.format, "bad-length", "truncated");
    const out = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  u8(): number {
    return this.take(1)[0] ?? 0;
  }

  u16(): number {
    const [a = 0, b = 0] = this.take(2);
    return (a << 8) | b;
  }

  u32(): number {
    const [a = 0, b = 0, c = 0, d = 0] = this.take(4);
    return ((a << 24) >>> 0) + ((b << 16) | (c << 8) | d);
  }

  end(): void {
    if (this.offset !== this.bytes.length)
      throw new CryptoError(this.format, "bad-length", "trailing bytes");
  }
}
