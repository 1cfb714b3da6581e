// A scripted stand-in for ZooKeeperClient, for recipe logic that must react to lost replies and state changes.

import { EventEmitter } from 'node:events';
import { ErrorCode, ZooKeeperError } from '../../../../src/jute/index.js';
import type { ClientState } from '../../../../src/client/index.js';

/** Children per parent; `create` may be told to apply a create but lose its reply. */
export class FakeClient extends EventEmitter {
  state: ClientState = 'connected';
  negotiatedTimeoutMs = 3000;
  readonly nodes = new Map<string, string[]>();
  private seq = 0;
  /** Number of upcoming creates that are applied but answered with CONNECTIONLOSS. */
  loseCreateReplies = 0;
  /** Number of upcoming creates that fail with CONNECTIONLOSS without being applied. */
  failCreates = 0;
  creates = 0;

  async create(path: string): Promise<string> {
    this.creates++;
    if (this.failCreates > 0) {
      this.failCreates--;
      throw new ZooKeeperError(ErrorCode.CONNECTIONLOSS, path);
    }
    const parent = path.slice(0, path.lastIndexOf('/'));
    const kids = this.nodes.get(parent);
    if (kids === undefined) throw new ZooKeeperError(ErrorCode.NONODE, path);
    const name = `${path.slice(parent.length + 1)}${String(this.seq++).padStart(10, '0')}`;
    kids.push(name);
    if (this.loseCreateReplies > 0) {
      this.loseCreateReplies--;
      throw new ZooKeeperError(ErrorCode.CONNECTIONLOSS, path);
    }
    return `${parent}/${name}`;
  }

  async getChildren(path: string): Promise<string[]> {
    const kids = this.nodes.get(path);
    if (kids === undefined) throw new ZooKeeperError(ErrorCode.NONODE, path);
    return [...kids];
  }

  setState(state: ClientState): void {
    this.state = state;
    this.emit('state', state);
  }
}
