// Runs async jobs one after another, so cache refreshes apply in the order their events arrived.

export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly onError: (err: unknown) => void) {}

  push(job: () => Promise<void>): Promise<void> {
    const run = this.tail.then(job).catch(this.onError);
    this.tail = run;
    return run;
  }

  /** Resolves when every job pushed so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }
}
