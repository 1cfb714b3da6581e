// Sequence suffixes: parsing the 10-digit counter ZooKeeper appends and ordering nodes by it.

/**
 * ZooKeeper formats the counter as Java's %010d: ten digits, or after overflow a minus sign
 * and nine digits. A plain dash before ten digits (`item-0000000001`) is a separator, not a sign.
 */
const SEQUENCE_SUFFIX = /(\d{10}|-\d{9})$/;

/** kazoo's contender pattern: a marker followed by the counter. */
export function parseMarkedSequence(name: string, markers: readonly string[]): { marker: string; seq: number } | undefined {
  const m = SEQUENCE_SUFFIX.exec(name);
  if (m === null) return undefined;
  const head = name.slice(0, m.index);
  for (const marker of markers) {
    if (head.endsWith(marker)) return { marker, seq: Number(m[1]) };
  }
  return undefined;
}

/** The counter at the end of a sequential node's name, or undefined for a non-sequential name. */
export function trailingSequence(name: string): number | undefined {
  const m = SEQUENCE_SUFFIX.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** Sequential node names in creation order (by counter, then name); names without a counter are dropped. */
export function sortBySequence(names: readonly string[]): string[] {
  return names
    .map((name) => ({ name, seq: trailingSequence(name) }))
    .filter((e): e is { name: string; seq: number } => e.seq !== undefined)
    .sort((a, b) => a.seq - b.seq || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((e) => e.name);
}
