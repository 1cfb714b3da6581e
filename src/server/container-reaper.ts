// Deletes empty containers and expired TTL nodes on a timer (ZooKeeper's ContainerManager).

import type { Logger } from 'pino';
import type { DataTree } from '../tree/data-tree.js';

/**
 * ContainerManager.getCandidates: containers with no children that once had one
 * (cversion > 0, so a fresh container is not reaped before its first child arrives) or that
 * have sat unused longer than maxNeverUsedIntervalMs (when set); TTL nodes with no children
 * unchanged for longer than their TTL.
 */
export function reapCandidates(tree: DataTree, nowMs: number, maxNeverUsedIntervalMs: number): string[] {
  const out: string[] = [];
  for (const path of tree.containers()) {
    const node = tree.getNode(path);
    if (node === undefined || node.numChildren > 0) continue;
    if (node.cversion > 0 || (maxNeverUsedIntervalMs !== 0 && nowMs - node.mtime > maxNeverUsedIntervalMs)) out.push(path);
  }
  for (const path of tree.ttlNodes()) {
    const node = tree.getNode(path);
    if (node === undefined || node.numChildren > 0) continue;
    if (node.ttlMs !== 0 && nowMs - node.mtime > node.ttlMs) out.push(path);
  }
  return out;
}

export interface ContainerReaperOptions {
  tree: DataTree;
  intervalMs: number;
  /** znode.container.maxPerMinute: deletes are spread at least 60000 / maxPerMinute ms (whole ms, as ZooKeeper divides) apart. */
  maxPerMinute: number;
  maxNeverUsedIntervalMs: number;
  now: () => number;
  /** Submits a deleteContainer txn (session 0); resolves once it is applied. */
  deleteNode: (path: string) => Promise<void>;
  logger: Logger;
}

export class ContainerReaper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: ContainerReaperOptions) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over the candidates; a pass already running is joined, not doubled. */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const minIntervalMs = this.opts.maxPerMinute > 0 ? Math.floor(60_000 / this.opts.maxPerMinute) : 0;
    const candidates = reapCandidates(this.opts.tree, this.opts.now(), this.opts.maxNeverUsedIntervalMs);
    for (let i = 0; i < candidates.length && !this.stopped; i++) {
      const path = candidates[i]!;
      const startMs = Date.now();
      this.opts.logger.info({ path }, 'attempting to delete candidate container');
      try {
        await this.opts.deleteNode(path);
      } catch (err) {
        this.opts.logger.error({ err, path }, 'could not delete container');
      }
      const waitMs = minIntervalMs - (Date.now() - startMs);
      if (waitMs >= 1 && i + 1 < candidates.length) await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}
