// The password Apache ZooKeeper gives a session: 16 bytes of java.util.Random seeded with (id ^ 0xB3415C00).

const MULTIPLIER = 0x5deece66dn;
const ADDEND = 0xbn;
const MASK_48 = (1n << 48n) - 1n;
/** ZooKeeperServer.superSecret. */
const SUPER_SECRET = 0xb3415c00n;

/** ZooKeeperServer.generatePasswd(id): what a ZooKeeper client holds and sends back to resume its session. */
export function zkSessionPassword(sessionId: bigint): Buffer {
  // java.util.Random(seed): scrambled with the multiplier, 48 bits kept.
  let seed = (BigInt.asIntN(64, sessionId ^ SUPER_SECRET) ^ MULTIPLIER) & MASK_48;
  const out = Buffer.alloc(16);
  for (let i = 0; i < out.length; ) {
    // nextInt() = next(32): the top 32 of the 48 state bits, used low byte first by nextBytes.
    seed = (seed * MULTIPLIER + ADDEND) & MASK_48;
    let rnd = Number(seed >> 16n) | 0;
    for (let n = Math.min(out.length - i, 4); n-- > 0; rnd >>= 8) out[i++] = rnd & 0xff;
  }
  return out;
}
