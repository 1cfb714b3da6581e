// A FIFO of entries under numeric keys, taken by key: writes waiting for commits that arrive in the order the writes were sent.
//
// Commits nearly always meet the oldest entry, so take() looks at the head first; a key that is
// not at the head (a write before it was lost with a leader) is found by a scan, as a map would.
// (ProposalTimes is the metrics' cousin: it may drop older entries, which must not be lost here.)

export class KeyedQueue<E> {
  private readonly keys: number[] = [];
  private readonly entries: E[] = [];

  /**
   * `ascending`: keys are pushed in increasing order (zxids), so a key below the head is not
   * held and take() answers without a scan (a leader sees that for every forwarded write).
   */
  constructor(private readonly ascending = false) {}

  get size(): number {
    return this.keys.length;
  }

  push(key: number, entry: E): void {
    this.keys.push(key);
    this.entries.push(entry);
  }

  /** Removes and returns the oldest entry under key, or undefined. */
  take(key: number): E | undefined {
    const keys = this.keys;
    if (keys.length === 0) return undefined;
    const head = keys[0]!;
    if (head === key) {
      keys.shift();
      return this.entries.shift();
    }
    if (this.ascending && head > key) return undefined;
    const i = keys.indexOf(key);
    if (i < 0) return undefined;
    keys.splice(i, 1);
    return this.entries.splice(i, 1)[0];
  }

  /** Removes and returns every entry, oldest first. */
  drain(): E[] {
    this.keys.length = 0;
    return this.entries.splice(0);
  }
}
