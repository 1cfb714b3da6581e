// Adler-32 (RFC 1950), the checksum ZooKeeper's FileTxnLog records and FileSnap seals use (java.util.zip.Adler32).

const MOD_ADLER = 65521;
/** Largest run of bytes whose sums cannot overflow 2^53 before the modulo is taken (zlib's NMAX is 5552 for 32-bit). */
const BLOCK_BYTES = 1 << 20;

/** A running Adler-32; update() may be called with consecutive pieces of the input. */
export class Adler32 {
  private a = 1;
  private b = 0;

  update(bytes: Uint8Array, start = 0, end = bytes.length): this {
    let a = this.a;
    let b = this.b;
    let i = start;
    while (i < end) {
      const stop = Math.min(end, i + BLOCK_BYTES);
      for (; i < stop; i++) {
        a += bytes[i]!;
        b += a;
      }
      a %= MOD_ADLER;
      b %= MOD_ADLER;
    }
    this.a = a;
    this.b = b;
    return this;
  }

  /** The checksum so far as an unsigned 32-bit number (Java's getValue() returns it in a long). */
  value(): number {
    return (this.b * 65536 + this.a) >>> 0;
  }
}

export function adler32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return new Adler32().update(bytes, start, end).value();
}
