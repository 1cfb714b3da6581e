// Dumps a whole znode tree through node-zookeeper-client (exact 64-bit stat fields): one comparable line per znode.

import { NzcClient } from './nzc.js';

export interface DumpedNode {
  path: string;
  data: string;
  acl: string;
  czxid: string;
  mzxid: string;
  ctime: string;
  mtime: string;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
  pzxid: string;
}

/** A stat long (node-zookeeper-client hands them over as 8-byte buffers) as hex. */
function long(b: Buffer): string {
  return `0x${b.toString('hex')}`;
}

/** Every znode under `root`, parents first, children in name order. The client authenticates as the super-less digest user alice so reads succeed where ACLs allow. */
export async function dumpTree(connectString: string, root = '/'): Promise<DumpedNode[]> {
  const c = await NzcClient.connect(connectString, { sessionTimeoutMs: 10_000 });
  try {
    c.addAuthInfo('digest', 'alice:secret');
    const out: DumpedNode[] = [];
    const stack = [root];
    while (stack.length > 0) {
      const path = stack.pop()!;
      const acls = await c.getACL(path);
      let data = '(no read permission)';
      let stat: Record<string, unknown>;
      try {
        const got = await c.getData(path);
        data = got.data === null ? 'null' : got.data.toString('hex');
        stat = got.stat as Record<string, unknown>;
      } catch {
        stat = (await c.exists(path)) as Record<string, unknown>;
      }
      out.push({
        path,
        data,
        acl: (acls as Array<{ permission: number; id: { scheme: string; id: string } }>).map((a) => `${a.permission}:${a.id.scheme}:${a.id.id}`).join(','),
        czxid: long(stat.czxid as Buffer),
        mzxid: long(stat.mzxid as Buffer),
        ctime: long(stat.ctime as Buffer),
        mtime: long(stat.mtime as Buffer),
        version: stat.version as number,
        cversion: stat.cversion as number,
        aversion: stat.aversion as number,
        ephemeralOwner: long(stat.ephemeralOwner as Buffer),
        dataLength: stat.dataLength as number,
        numChildren: stat.numChildren as number,
        pzxid: long(stat.pzxid as Buffer),
      });
      const children = (await c.getChildren(path)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (let i = children.length - 1; i >= 0; i--) stack.push(path === '/' ? `/${children[i]}` : `${path}/${children[i]}`);
    }
    return out;
  } finally {
    await c.close();
  }
}
