// A FIFO of entries under numeric keys, taken by key: writes waiting for commits that arrive in the order the writes were sent.
//
// Commits nearly always meet the oldest entry, so take() looks at the head first; a key that is
// not at the head (a write before it was lost with a leader) is found by a scan, as a map would.
// (ProposalTimes is the metrics' cousin: it may drop older entries, which must not be lost here.)

export class KeyedQueue<E> {
  private keys: number[] = [];
  private entries: (E | undefined)[] = [];
  /**
   * Index of the oldest entry. Taking the head moves it along instead of Array.shift, which
   * copies the whole array once it is large (a deep pipeline has thousands of writes awaiting
   * commit); the arrays are compacted once the consumed part dominates.
   */
  private head = 0;

  /**
   * `ascending`: keys are pushed in increasing order (zxids), so a key below the head is not
   * held and take() answers without a scan (a leader sees that for every forwarded write).
   */
  constructor(private readonly ascending = false) {}

  get size(): number {
    return this.keys.length - this.head;
  }

  push(key: number, entry: E): void {
    this.keys.push(key);
    this.entries.push(entry);
  }

  /** Removes and returns the oldest entry under key, or undefined. */
  take(key: number): E | undefined {
    const keys = this.keys;
    const head = this.head;
    if (head === keys.length) return undefined;
    if (keys[head] === key) {
      const entry = this.entries[head];
      this.entries[head] = undefined;
      this.head = head + 1;
      if (this.head === keys.length) this.clear();
      else if (this.head >= 1024 && this.head * 2 >= keys.length) this.compact();
      return entry;
    }
    if (this.ascending && keys[head]! > key) return undefined;
    const i = keys.indexOf(key, head);
    if (i < 0) return undefined;
    keys.splice(i, 1);
    return this.entries.splice(i, 1)[0];
  }

  /** Removes and returns every entry, oldest first. */
  drain(): E[] {
    const out = this.entries.slice(this.head) as E[];
    this.clear();
    return out;
  }

  private clear(): void {
    this.keys = [];
    this.entries = [];
    this.head = 0;
  }

  private compact(): void {
    this.keys = this.keys.slice(this.head);
    this.entries = this.entries.slice(this.head);
    this.head = 0;
  }
}
