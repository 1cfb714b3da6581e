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

/**
 * What a persisted ephemeralOwner means, as EphemeralType.get reads it with extended types on
 * (zabkeeper always has them): the top byte 0xFF with the TTL feature bits (0) is a TTL node.
 */
const PERSISTENT: DecodedOwner = Object.freeze({ kind: 'persistent' });
const CONTAINER: DecodedOwner = Object.freeze({ kind: 'container' });

export function decodeEphemeralOwner(owner: bigint): DecodedOwner {
  // Shared answers for the common kinds: a million-node import asks once per node.
  if (owner === 0n) return PERSISTENT;
  if (owner === ZK_CONTAINER_OWNER) return CONTAINER;
  const unsigned = BigInt.asUintN(64, owner);
  if ((unsigned & EXTENDED_MASK) === EXTENDED_MASK && (unsigned & RESERVED_BITS_MASK) === 0n) {
    return { kind: 'ttl', ttlMs: Number(unsigned & EXTENDED_VALUE_MASK) };
  }
  return { kind: 'ephemeral', session: owner };
}
