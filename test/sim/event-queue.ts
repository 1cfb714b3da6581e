// Min-heap of timed simulator events; ties break by insertion order so runs are deterministic.

interface Entry<E> {
  at: number;
  seq: number;
  ev: E;
}

export class EventQueue<E> {
  private readonly heap: Entry<E>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /**
   * `seq` keeps an event's place among events at the same time: an event postponed (to a
   * frozen process's wake-up) keeps its original seq, so per-connection FIFO order survives.
   */
  push(at: number, ev: E, seq = this.seq++): void {
    const h = this.heap;
    h.push({ at, seq, ev });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): { at: number; seq: number; ev: E } | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less<E>(a: Entry<E>, b: Entry<E>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
