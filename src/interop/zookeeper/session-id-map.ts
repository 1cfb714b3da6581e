// Maps ZooKeeper's 64-bit session ids onto ids zabkeeper can hold exactly (JS numbers below 2^53).
//
// ZooKeeper puts the server id in the top byte of a session id (a standalone server is id 1), so
// its ids are almost always at or above 2^56, where a JS number cannot tell neighbours apart.
// Those ids get a new id in the block a zabkeeper server with myid 8191 would use (8191 * 2^40
// upwards), keeping the low 40 bits (ZooKeeper's clock bits and per-server counter) so that the
// new ids stay distinct and readable next to the old ones. Ids already below 2^53 are kept.

const TWO_40 = 2 ** 40;
const TWO_53 = 2 ** 53;
const REMAP_BASE = TWO_53 - TWO_40;
const LOW_40_BITS = (1n << 40n) - 1n;

export class SessionIdMap {
  private readonly byZk = new Map<bigint, number>();
  private readonly used = new Set<number>();
  private readonly remapped: Array<[bigint, number]> = [];

  /** The zabkeeper id for a ZooKeeper id; 0 (server-internal) stays 0. Stable for the map's lifetime. */
  map(zkId: bigint): number {
    const known = this.byZk.get(zkId);
    if (known !== undefined) return known;
    let id: number;
    if (zkId >= 0n && zkId < BigInt(TWO_53)) {
      id = Number(zkId);
      if (this.used.has(id)) throw new Error(`session id 0x${zkId.toString(16)} collides with a remapped session id; import refused`);
    } else {
      id = REMAP_BASE + Number(BigInt.asUintN(64, zkId) & LOW_40_BITS);
      while (this.used.has(id) || id === 0) id = id + 1 >= TWO_53 ? REMAP_BASE : id + 1;
      this.remapped.push([zkId, id]);
    }
    this.byZk.set(zkId, id);
    this.used.add(id);
    return id;
  }

  /** Every ZooKeeper id met and the id it maps to. */
  entries(): IterableIterator<[bigint, number]> {
    return this.byZk.entries();
  }

  /** The ZooKeeper ids that got a new id, in the order they were met. */
  get remappedIds(): ReadonlyArray<readonly [bigint, number]> {
    return this.remapped;
  }
}

/** Java's Long.toHexString for a session id: 64-bit two's complement, no padding. */
export function zkSessionHex(id: bigint): string {
  return `0x${BigInt.asUintN(64, id).toString(16)}`;
}
