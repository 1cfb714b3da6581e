// Coalesces the frames a connection sends in one event-loop iteration into one socket write.
//
// Under load a member sends many small frames per iteration (replies, events, PROPOSALs and
// COMMITs), and each socket write costs a syscall plus a wakeup of the reader. The flush runs
// from setImmediate, after every I/O callback of the iteration (a nextTick flush would run after
// each one), so one write carries everything the iteration produced.

export class TurnWriter {
  private frames: Buffer[] = [];
  private bytes = 0;

  /** `write` receives each iteration's output as one buffer; it decides what a closed socket does. */
  constructor(private readonly write: (out: Buffer) => void) {}

  /** Bytes queued for the end of this iteration. */
  get queuedBytes(): number {
    return this.bytes;
  }

  push(frame: Buffer): void {
    if (frame.length === 0) return;
    if (this.bytes === 0) setImmediate(flushTurn, this);
    this.frames.push(frame);
    this.bytes += frame.length;
  }

  /** Hands what is queued to `write` now (before a close, or when a caller must see it sent). */
  flush(): void {
    if (this.bytes === 0) return;
    const frames = this.frames;
    const out = frames.length === 1 ? frames[0]! : Buffer.concat(frames, this.bytes);
    this.frames = [];
    this.bytes = 0;
    this.write(out);
  }

  /** Drops what is queued (the connection is being torn down). */
  clear(): void {
    this.frames = [];
    this.bytes = 0;
  }
}

function flushTurn(w: TurnWriter): void {
  w.flush();
}
