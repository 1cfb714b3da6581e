// Watches key and trust store files and calls back once they change (ZooKeeper's FileChangeWatcher),
// so certificates can be rotated without a restart.

import { unwatchFile, watchFile, type Stats } from 'node:fs';

/** Files are polled: rotation tools replace files by rename, which inotify-style watches lose. */
export class CertReloader {
  private readonly listeners = new Map<string, (cur: Stats, prev: Stats) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    files: readonly string[],
    private readonly onChange: () => void,
    intervalMs = 1000,
    /** Writers update key and certificate one after the other; reload once both are written. */
    private readonly settleMs = Math.max(50, Math.floor(intervalMs / 2)),
  ) {
    for (const file of new Set(files)) {
      const listener = (cur: Stats, prev: Stats): void => {
        if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
        this.schedule();
      };
      this.listeners.set(file, listener);
      watchFile(file, { interval: intervalMs, persistent: false }, listener);
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onChange();
    }, this.settleMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const [file, listener] of this.listeners) unwatchFile(file, listener);
    this.listeners.clear();
  }
}
