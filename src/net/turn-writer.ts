// Coalesces the frames a connection sends in one event-loop iteration into one socket write.
//
// Under load a member sends many small frames per iteration (replies, events, PROPOSALs and
// COMMITs), and each socket write costs a syscall plus a wakeup of the reader. The flush runs
// from setImmediate, after every I/O callback of the iteration (a nextTick flush would run after
// each one), so one write carries everything the iteration produced.

/** First size of a turn's own buffer: a few replies; small enough to come from Node's Buffer pool. */
const FIRST_CHUNK_BYTES = 1024;

export class TurnWriter {
  private frames: Buffer[] = [];
  private bytes = 0;
  /**
   * This turn's buffer for pushCopy(): bytes [sealed, used) are queued but not yet in `frames`.
   * A new one each turn, so an idle connection holds none, and the socket may keep the last
   * one until its write completes.
   */
  private chunk: Buffer | undefined;
  private sealed = 0;
  private used = 0;

  /** `write` receives each iteration's output as one buffer; it decides what a closed socket does. */
  constructor(private readonly write: (out: Buffer) => void) {}

  /** Bytes queued for the end of this iteration. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Queues `frame` itself: the caller must not change it afterwards. */
  push(frame: Buffer): void {
    if (frame.length === 0) return;
    if (this.bytes === 0) setImmediate(flushTurn, this);
    this.seal();
    this.frames.push(frame);
    this.bytes += frame.length;
  }

  /**
   * Queues a copy of `frame` in this turn's own buffer, so the caller may reuse its buffer as
   * soon as this returns: a reply is copied once, into the bytes the socket gets, instead of
   * into a buffer of its own and again when the turn's frames are joined.
   */
  pushCopy(frame: Buffer): void {
    const n = frame.length;
    if (n === 0) return;
    if (this.bytes === 0) setImmediate(flushTurn, this);
    let chunk = this.chunk;
    if (chunk === undefined || chunk.length - this.used < n) {
      this.seal();
      chunk = this.chunk = Buffer.allocUnsafe(Math.max(n, chunk === undefined ? FIRST_CHUNK_BYTES : chunk.length * 2));
      this.sealed = this.used = 0;
    }
    frame.copy(chunk, this.used);
    this.used += n;
    this.bytes += n;
  }

  /** Hands what is queued to `write` now (before a close, or when a caller must see it sent). */
  flush(): void {
    if (this.bytes === 0) return;
    this.seal();
    const frames = this.frames;
    const out = frames.length === 1 ? frames[0]! : Buffer.concat(frames, this.bytes);
    this.frames = [];
    this.bytes = 0;
    this.chunk = undefined;
    this.write(out);
  }

  /** Drops what is queued (the connection is being torn down). */
  clear(): void {
    this.frames = [];
    this.bytes = 0;
    this.chunk = undefined;
  }

  /** Moves the copied bytes not yet in `frames` there, keeping the order of push and pushCopy calls. */
  private seal(): void {
    if (this.used > this.sealed) {
      this.frames.push(this.chunk!.subarray(this.sealed, this.used));
      this.sealed = this.used;
    }
  }
}

function flushTurn(w: TurnWriter): void {
  w.flush();
}
