// A seeded stream of valid txns built against a "prep" tree, as a leader would, for storage tests.

import { DataTree } from '../../../src/tree/data-tree.js';
import type { Txn } from '../../../src/tree/txn.js';
import { OPEN_ACL } from './storage-fixtures.js';
import type { ACL } from '../../../src/jute/records.js';

const READ_ACL: ACL[] = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];
import { seededRandom } from '../../helpers/seeded-random.js';

/**
 * Builds txns from the state of its own prep tree (so versions and cversions are right) and
 * applies them there at once; the test persists and applies them to the real tree later.
 */
export class Workload {
  readonly prep = new DataTree();
  zxid: number;
  private readonly paths: string[] = [];
  private readonly rnd: () => number;
  private readonly sessions: number[] = [];
  private nextSession = 0x000a_0000_0000_0001;
  /** Deleted paths, for `recreate`. */
  private readonly deleted: string[] = [];

  /**
   * `recreate`: some creates bring back a deleted path (a path deleted and created again);
   * `acls`: some setData are setACLs instead. Both off keeps older seeds' streams unchanged.
   */
  constructor(
    seed: number,
    startZxid = 0,
    private readonly opts: { recreate?: boolean; acls?: boolean } = {},
  ) {
    this.rnd = seededRandom(seed);
    this.zxid = startZxid;
  }

  /** A deleted path whose parent is there again, or undefined. */
  private revivable(): string | undefined {
    if (!this.opts.recreate || this.deleted.length === 0 || this.rnd() < 0.5) return undefined;
    const i = Math.floor(this.rnd() * this.deleted.length);
    const path = this.deleted[i]!;
    const parent = path.substring(0, path.lastIndexOf('/')) || '/';
    if (this.prep.getNode(path) !== undefined || this.prep.getNode(parent) === undefined) return undefined;
    this.deleted.splice(i, 1);
    return path;
  }

  next(): Txn {
    const zxid = ++this.zxid;
    const time = 1_700_000_000_000 + zxid;
    const r = this.rnd();
    let t: Txn;
    if (r < 0.04) {
      const id = this.nextSession++;
      this.sessions.push(id);
      t = { hdr: { sessionId: id, cxid: 0, zxid, time }, op: { type: 'createSession', timeoutMs: 4000 + (id % 10) * 1000 } };
    } else if (r < 0.06 && this.sessions.length > 2) {
      const id = this.sessions.splice(Math.floor(this.rnd() * this.sessions.length), 1)[0]!;
      // As prep writes it: the ephemerals the session owns, by name.
      t = { hdr: { sessionId: id, cxid: 1, zxid, time }, op: { type: 'closeSession', paths: this.prep.getEphemerals(id).sort() } };
    } else if (r < 0.55 || this.paths.length < 5) {
      const revived = this.revivable();
      const parent =
        revived !== undefined
          ? revived.substring(0, revived.lastIndexOf('/')) || '/'
          : this.paths.length > 0 && this.rnd() < 0.7
            ? this.paths[Math.floor(this.rnd() * this.paths.length)]!
            : '/';
      const parentNode = this.prep.getNode(parent)!;
      const path = revived ?? `${parent === '/' ? '' : parent}/n${zxid.toString(36)}`;
      const owner = parentNode.kind !== 'ephemeral' && this.sessions.length > 0 && this.rnd() < 0.2 ? this.sessions[0]! : 0;
      const ok = parentNode.kind !== 'ephemeral';
      t = ok
        ? {
            hdr: { sessionId: owner || 0x42, cxid: 2, zxid, time },
            op: {
              type: 'create',
              path,
              data: this.rnd() < 0.1 ? null : Buffer.from(`v${zxid}`.repeat(Math.floor(this.rnd() * 4))),
              acl: OPEN_ACL,
              kind: owner ? 'ephemeral' : 'persistent',
              ephemeralOwner: owner,
              ttlMs: 0,
              parentCVersion: parentNode.cversion + 1,
            },
          }
        : { hdr: { sessionId: 0x42, cxid: 2, zxid, time }, op: { type: 'error', err: -108 } };
    } else if (r < 0.85) {
      const path = this.paths[Math.floor(this.rnd() * this.paths.length)]!;
      const node = this.prep.getNode(path);
      const acl = this.opts.acls && node !== undefined && this.rnd() < 0.2;
      t = acl
        ? { hdr: { sessionId: 0x42, cxid: 3, zxid, time }, op: { type: 'setACL', path, acl: this.rnd() < 0.5 ? OPEN_ACL : READ_ACL, version: node.aversion + 1 } }
        : node
        ? { hdr: { sessionId: 0x42, cxid: 3, zxid, time }, op: { type: 'setData', path, data: Buffer.from(`set${zxid}`), version: node.version + 1 } }
        : { hdr: { sessionId: 0x42, cxid: 3, zxid, time }, op: { type: 'error', err: -101 } };
    } else {
      const path = this.paths[Math.floor(this.rnd() * this.paths.length)]!;
      const node = this.prep.getNode(path);
      t =
        node && node.numChildren === 0
          ? { hdr: { sessionId: 0x42, cxid: 4, zxid, time }, op: { type: 'delete', path } }
          : { hdr: { sessionId: 0x42, cxid: 4, zxid, time }, op: { type: 'error', err: -111 } };
    }
    this.prep.apply(t);
    if (t.op.type === 'create' && this.prep.getNode(t.op.path)) this.paths.push(t.op.path);
    if (t.op.type === 'delete' || t.op.type === 'closeSession') {
      for (let i = this.paths.length - 1; i >= 0; i--) {
        if (this.prep.getNode(this.paths[i]!)) continue;
        if (this.opts.recreate) this.deleted.push(this.paths[i]!);
        this.paths.splice(i, 1);
      }
    }
    return t;
  }
}

/** Every node's data and stat, sessions and digest: what "the same tree" means in these tests. */
export function treeImage(tree: DataTree): { digest: number; sessions: Array<[number, number]>; nodes: Record<string, unknown> } {
  const nodes: Record<string, unknown> = {};
  const stack = ['/'];
  while (stack.length > 0) {
    const path = stack.pop()!;
    const got = tree.getData(path)!;
    nodes[path] = { data: got.data === null ? null : got.data.toString('hex'), stat: got.stat, acl: tree.getAcl(path)!.acl };
    for (const c of tree.getChildren(path)!) stack.push(path === '/' ? `/${c}` : `${path}/${c}`);
  }
  return { digest: tree.digest(), sessions: [...tree.sessions].sort((a, b) => a[0] - b[0]), nodes };
}
