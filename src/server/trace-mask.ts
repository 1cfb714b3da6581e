// ZooKeeper's text trace mask (ZooTrace's level): set by stmk / set_trace_mask, read by gtmk / get_trace_mask.
//
// ZooKeeper gates its TRACE-level request logging by this mask; zabkeeper has no such logging,
// so the mask is only kept and reported, as the operator set it.

/** ZooTrace's default: client requests, server packets, sessions, warnings (2|16|32|256). */
export const DEFAULT_TEXT_TRACE_MASK = 306n;

const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;

/** One server's mask, a Java long. */
export class TraceMask {
  private mask = DEFAULT_TEXT_TRACE_MASK;

  get value(): bigint {
    return this.mask;
  }

  set(mask: bigint): void {
    if (mask < LONG_MIN || mask > LONG_MAX) throw new RangeError(`trace mask ${mask} is not a 64-bit signed integer`);
    this.mask = mask;
  }
}

/** The value of a Unicode decimal digit (\p{Nd}): Unicode puts every such digit in a contiguous run 0..9. */
function digitValue(ch: string): number {
  let cp = ch.codePointAt(0)!;
  let n = 0;
  while (/\p{Nd}/u.test(String.fromCodePoint(cp - 1))) {
    cp--;
    n++;
  }
  return n % 10;
}

/**
 * Java's Long.parseLong(s) (radix 10), as the admin server's set_trace_mask reads its
 * traceMask parameter: an optional + or -, then at least one decimal digit of any script
 * (Character.digit accepts them all), within a long's range; undefined otherwise.
 */
export function parseJavaLong(s: string): bigint | undefined {
  const m = /^([+-]?)(\p{Nd}+)$/u.exec(s);
  if (m === null) return undefined;
  let v = 0n;
  for (const ch of m[2]!) v = v * 10n + BigInt(digitValue(ch));
  if (m[1] === '-') v = -v;
  return v < LONG_MIN || v > LONG_MAX ? undefined : v;
}
