// Read-only mode (readonlymode.enabled, as ZooKeeper 3.8's ReadOnlyZooKeeperServer): a member that
// has been looking for its quorum for a grace period serves clients that connect with canBeReadOnly
// from its last state, refuses their writes with NOTREADONLY, and ends it when it rejoins.

import type { Logger } from 'pino';
import { OpCode } from '../jute/opcodes.js';
import type { ZabRole } from '../zab/actions.js';

/** QuorumPeer: "lower-bound grace period to 2 secs" before a looking member goes read-only. */
export const MIN_GRACE_MS = 2000;

/**
 * Requests ReadOnlyRequestProcessor answers with NOTREADONLY instead of passing on: every
 * write, sync (it needs the leader) and reconfig. Reads, pings, auth, setWatches and the
 * session's own close go through.
 */
const REFUSED: ReadonlySet<number> = new Set([
  OpCode.sync,
  OpCode.create,
  OpCode.create2,
  OpCode.createTTL,
  OpCode.createContainer,
  OpCode.delete,
  OpCode.deleteContainer,
  OpCode.setData,
  OpCode.reconfig,
  OpCode.setACL,
  OpCode.multi,
  OpCode.check,
]);

export function refusedWhenReadOnly(type: number): boolean {
  return REFUSED.has(type);
}

/** A read-only server refuses clients that did not say they accept one (ZooKeeper closes them). */
export class NotReadOnlyClientError extends Error {
  constructor(client: string) {
    super(`Refusing session request for not-read-only client ${client}`);
    this.name = 'NotReadOnlyClientError';
  }
}

/** What the mode switches on the session layer (ZooKeeperServer.setReadOnly). */
export interface ReadOnlyServer {
  setReadOnly(on: boolean): void;
}

/**
 * Follows the member's ZAB role: entering 'looking' arms a timer of max(2 s, tickTime); if
 * the member is still looking when it fires, the session layer goes read-only. Any other
 * role disarms it (the session layer itself leaves read-only mode on a role change and
 * closes those connections, so their clients reconnect to a read-write server).
 */
export class ReadOnlyMode {
  private timer: NodeJS.Timeout | undefined;
  private role: ZabRole = 'looking';

  constructor(
    private readonly server: ReadOnlyServer,
    private readonly opts: { tickTimeMs: number; logger: Logger },
  ) {}

  get graceMs(): number {
    return Math.max(MIN_GRACE_MS, this.opts.tickTimeMs);
  }

  roleChanged(role: ZabRole): void {
    this.role = role;
    if (role !== 'looking') {
      this.disarm();
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.role !== 'looking') return;
      this.opts.logger.info({ graceMs: this.graceMs }, 'Attempting to start ReadOnlyZooKeeperServer: no quorum; serving read-only clients');
      this.server.setReadOnly(true);
    }, this.graceMs);
    this.timer.unref();
  }

  stop(): void {
    this.disarm();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
