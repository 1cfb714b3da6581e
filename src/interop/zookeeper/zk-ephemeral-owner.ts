// ZooKeeper's ephemeralOwner encodings (EphemeralType) read as node kinds (tree/data-tree.ts's persistedEphemeralOwner writes them).

/** Long.MIN_VALUE marks a container. */
export const ZK_CONTAINER_OWNER = -(1n << 63n);
const EXTENDED_MASK = 0xff00000000000000n;
const RESERVED_BITS_MASK = 0x00ffff0000000000n;
const EXTENDED_VALUE_MASK = 0x000000ffffffffffn;

export type DecodedOwner =
  | { kind: 'persistent' }
  | { kind: 'container' }
  | { kind: 'ttl'; ttlMs: number }
  | { kind: 'ephemeral'; session: bigint };

const PERSISTENT: DecodedOwner = Object.freeze({ kind: 'persistent' });
const CONTAINER: DecodedOwner = Object.freeze({ kind: 'container' });

/**
 * What a persisted ephemeralOwner means, as EphemeralType.get reads it with extended types on
 * (zabkeeper always has them): the top byte 0xFF with the TTL feature bits (0) is a TTL node.
 */
export function decodeEphemeralOwner(owner: bigint, emulate353 = false): DecodedOwner {
  // Shared answers for the common kinds: a million-node import asks once per node.
  if (owner === 0n) return PERSISTENT;
  if (owner === ZK_CONTAINER_OWNER) return CONTAINER;
  // -Dzookeeper.emulate353TTLNodes=true (EphemeralTypeEmulate353): ZooKeeper 3.5.3 wrote a TTL node's
  // owner as the sign bit | ttl, so any other negative owner is a TTL node, and ZooKeeper 3.8 reads its
  // TTL with the 3.5.4+ mask (the low 40 bits). A session id from a server id >= 128 is negative too:
  // its ephemerals become TTL nodes as well, which is why ZooKeeper documents server ids <= 127 with it.
  if (emulate353 && owner < 0n) return ttlOf(owner);
  const unsigned = BigInt.asUintN(64, owner);
  if ((unsigned & EXTENDED_MASK) === EXTENDED_MASK && (unsigned & RESERVED_BITS_MASK) === 0n) return ttlOf(owner);
  return { kind: 'ephemeral', session: owner };
}

/** A TTL node's ephemeralOwner as ZooKeeper 3.5.4+ writes it (EphemeralType.TTL.toEphemeralOwner). */
export function ttlOwner(ttlMs: number): bigint {
  return BigInt.asIntN(64, EXTENDED_MASK | BigInt(ttlMs));
}

function ttlOf(owner: bigint): DecodedOwner {
  return { kind: 'ttl', ttlMs: Number(BigInt.asUintN(64, owner) & EXTENDED_VALUE_MASK) };
}
