// Server-agnostic behaviour suite for the TypeScript client: run against real ZooKeeper or zabkeeper.

import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Acls,
  ErrorCode,
  Perms,
  TransactionError,
  ZooKeeperClient,
  ZooKeeperError,
  digestId,
  type ClientState,
  type ConnectOptions,
  type WatchEvent,
} from '../../src/client/index.js';
import { waitFor } from '../helpers/wait-for.js';

export interface ServerHandle {
  /** "host:port" of one server (no chroot). */
  connectString: string;
  stop(): Promise<void>;
}

/** Events a listener received, with a way to await the next one. */
class EventLog {
  readonly events: WatchEvent[] = [];
  private waiters: Array<() => void> = [];
  readonly listener = (e: WatchEvent): void => {
    this.events.push(e);
    for (const w of this.waiters.splice(0)) w();
  };
  /** Waits until `n` events of a node type (not connection-state 'None') have arrived. */
  async nodeEvents(n: number, timeoutMs = 10000): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.events.filter((e) => e.type !== 'None');
      if (got.length >= n) return got;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} watch events, got ${JSON.stringify(got)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** A TCP forwarder the test can sever, hold (stop delivering replies) or block (refuse connections). */
class CuttableProxy {
  private server: net.Server | undefined;
  private pairs = new Set<{ c: net.Socket; s: net.Socket; held: Buffer[] }>();
  private blocked = false;
  private holding = false;
  port = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.server = net.createServer((c) => {
      if (this.blocked) {
        c.destroy();
        return;
      }
      const s = net.connect({ host: this.targetHost, port: this.targetPort });
      const pair = { c, s, held: [] as Buffer[] };
      this.pairs.add(pair);
      c.on('data', (d) => s.write(d));
      s.on('data', (d) => (this.holding ? pair.held.push(d) : c.write(d)));
      const end = () => {
        c.destroy();
        s.destroy();
        this.pairs.delete(pair);
      };
      c.on('close', end);
      s.on('close', end);
      c.on('error', end);
      s.on('error', end);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replies from the server stop reaching the client (requests still go through). */
  hold(): void {
    this.holding = true;
  }

  cut(): void {
    this.holding = false;
    for (const p of [...this.pairs]) {
      p.c.destroy();
      p.s.destroy();
    }
  }

  block(on: boolean): void {
    this.blocked = on;
    if (on) this.cut();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function waitForState(client: ZooKeeperClient, state: ClientState, timeoutMs = 20000): Promise<void> {
  if (client.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      client.off('state', on);
      reject(new Error(`state ${state} not reached, still ${client.state}`));
    }, timeoutMs);
    const on = (s: ClientState) => {
      if (s !== state) return;
      clearTimeout(t);
      client.off('state', on);
      resolve();
    };
    client.on('state', on);
  });
}

async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ZooKeeperError);
    return (e as ZooKeeperError).code;
  }
}

export function clientSuite(name: string, startServer: () => Promise<ServerHandle>): void {
  describe(name, () => {
    let server: ServerHandle;
    const clients: ZooKeeperClient[] = [];
    const proxies: CuttableProxy[] = [];
    let root: string;
    let zk: ZooKeeperClient;

    async function connect(suffix = '', opts: ConnectOptions = {}, connectString = server.connectString): Promise<ZooKeeperClient> {
      const c = await ZooKeeperClient.connect(connectString + suffix, { sessionTimeoutMs: 10000, ...opts });
      clients.push(c);
      return c;
    }

    async function proxy(): Promise<CuttableProxy> {
      const [host, port] = server.connectString.split(':') as [string, string];
      const p = new CuttableProxy(host, Number(port));
      await p.start();
      proxies.push(p);
      return p;
    }

    beforeAll(async () => {
      server = await startServer();
    });
    afterAll(async () => {
      await server?.stop();
    });
    beforeEach(async () => {
      zk = await connect();
      root = `/t-${randomUUID().slice(0, 8)}`;
      await zk.create(root);
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) await c.close();
      for (const p of proxies.splice(0)) await p.stop();
    });

    it('connects and reports the negotiated session', () => {
      expect(zk.state).toBe('connected');
      expect(zk.sessionId).not.toBe(0n);
      expect(zk.sessionIdHex).toMatch(/^0x[0-9a-f]+$/);
      expect(zk.sessionPassword.length).toBe(16);
      expect(zk.negotiatedTimeoutMs).toBeGreaterThan(0);
    });

    it('create / exists / getData / setData / getChildren / delete', async () => {
      const p = `${root}/a`;
      expect(await zk.create(p, 'one')).toBe(p);
      const created = await zk.create2(`${root}/b`, Buffer.from([0, 1, 2]));
      expect(created.path).toBe(`${root}/b`);
      expect(created.stat.dataLength).toBe(3);
      expect(created.stat.version).toBe(0);

      const { data, stat } = await zk.getData(p);
      expect(data.toString()).toBe('one');
      expect(stat.version).toBe(0);
      expect(stat.czxid).toBe(stat.mzxid);
      expect(stat.ephemeralOwner).toBe(0);

      const st = await zk.setData(p, 'two', 0);
      expect(st.version).toBe(1);
      expect(st.mzxid).toBeGreaterThan(stat.mzxid);
      expect(await codeOf(zk.setData(p, 'three', 0))).toBe(ErrorCode.BADVERSION);

      expect((await zk.exists(p))?.version).toBe(1);
      expect(await zk.exists(`${root}/none`)).toBeNull();
      expect((await zk.getChildren(root)).sort()).toEqual(['a', 'b']);
      const c2 = await zk.getChildren2(root);
      expect(c2.stat.numChildren).toBe(2);
      expect(await zk.getAllChildrenNumber(root)).toBe(2);

      expect(await codeOf(zk.create(p))).toBe(ErrorCode.NODEEXISTS);
      expect(await codeOf(zk.create(`${root}/x/y`))).toBe(ErrorCode.NONODE);
      expect(await codeOf(zk.delete(root))).toBe(ErrorCode.NOTEMPTY);
      expect(await codeOf(zk.delete(p, 7))).toBe(ErrorCode.BADVERSION);
      await zk.delete(p, 1);
      await zk.delete(`${root}/b`);
      expect(await zk.exists(p)).toBeNull();
      const err = await zk.getData(p).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZooKeeperError);
      expect((err as ZooKeeperError).code).toBe(ErrorCode.NONODE);
      expect((err as ZooKeeperError).path).toBe(p);
      expect(await zk.sync(root)).toBe(root);
    });

    it('rejects bad paths client-side with BADARGUMENTS', async () => {
      for (const bad of ['noslash', '/a/', '/a//b', '/a/./b', '/a/../b', '/a\u0000b', '']) {
        expect(await codeOf(zk.create(bad))).toBe(ErrorCode.BADARGUMENTS);
      }
      // A sequential create may end with '/': the server appends the counter.
      expect(await zk.create(`${root}/`, null, { mode: 'persistent_sequential' })).toMatch(new RegExp(`^${root}/\\d{10}$`));
      expect(await codeOf(zk.create(`${root}/t`, null, { mode: 'persistent_with_ttl' }))).toBe(ErrorCode.BADARGUMENTS);
    });

    it('sequential nodes get increasing 10-digit suffixes', async () => {
      const names: string[] = [];
      for (let i = 0; i < 3; i++) names.push(await zk.create(`${root}/n-`, `${i}`, { mode: 'persistent_sequential' }));
      expect(names).toEqual([`${root}/n-0000000000`, `${root}/n-0000000001`, `${root}/n-0000000002`]);
      const eph = await zk.create(`${root}/e-`, null, { mode: 'ephemeral_sequential' });
      expect(eph).toBe(`${root}/e-0000000003`);
    });

    it('ephemeral nodes belong to the session and vanish when it closes', async () => {
      const owner = await connect();
      const p = await owner.create(`${root}/eph`, 'x', { mode: 'ephemeral' });
      const st = await zk.exists(p);
      expect(st?.ephemeralOwner).not.toBe(0);
      expect(await owner.getEphemerals(root)).toEqual([p]);
      expect(await codeOf(owner.create(`${p}/child`))).toBe(ErrorCode.NOCHILDRENFOREPHEMERALS);
      const log = new EventLog();
      await zk.exists(p, log.listener);
      await owner.close();
      expect(owner.state).toBe('closed');
      expect(await codeOf(owner.getData(p))).toBe(ErrorCode.SESSIONEXPIRED);
      const [ev] = await log.nodeEvents(1);
      expect(ev).toEqual({ type: 'NodeDeleted', state: 'connected', path: p });
      expect(await zk.exists(p)).toBeNull();
    });

    it('TTL and container nodes', async () => {
      const t = await zk.create2(`${root}/ttl`, 'x', { mode: 'persistent_with_ttl', ttlMs: 60000 });
      expect(t.path).toBe(`${root}/ttl`);
      expect(t.stat.ephemeralOwner).toBe(0); // the server keeps the ttl internally, clients see 0
      expect((await zk.getData(t.path)).data.toString()).toBe('x');
      const s = await zk.create(`${root}/ttls-`, 'x', { mode: 'persistent_sequential_with_ttl', ttlMs: 60000 });
      expect(s).toMatch(/ttls-\d{10}$/);
      expect(await zk.create(`${root}/box`, null, { mode: 'container' })).toBe(`${root}/box`);
    });

    it('one-shot watches fire once, and a listener registered twice fires once', async () => {
      const p = `${root}/w`;
      await zk.create(p, 'a');
      const data = new EventLog();
      await zk.getData(p, data.listener);
      await zk.getData(p, data.listener);
      await zk.exists(p, data.listener);
      const other = await connect();
      await other.setData(p, 'b');
      await other.setData(p, 'c');
      const evs = await data.nodeEvents(1);
      await zk.sync(p); // a second event, if any, would have arrived before this reply
      expect(evs).toEqual([{ type: 'NodeDataChanged', state: 'connected', path: p }]);
      expect(data.events.filter((e) => e.type !== 'None').length).toBe(1);

      const created = new EventLog();
      expect(await zk.exists(`${p}2`, created.listener)).toBeNull();
      await other.create(`${p}2`);
      expect((await created.nodeEvents(1))[0]).toEqual({ type: 'NodeCreated', state: 'connected', path: `${p}2` });

      const children = new EventLog();
      await zk.getChildren(p, children.listener);
      await other.create(`${p}/kid`);
      expect((await children.nodeEvents(1))[0]).toEqual({ type: 'NodeChildrenChanged', state: 'connected', path: p });

      const deleted = new EventLog();
      await zk.getData(`${p}/kid`, deleted.listener);
      await zk.getChildren(`${p}/kid`, deleted.listener);
      await other.delete(`${p}/kid`);
      await zk.sync(p);
      expect(await deleted.nodeEvents(1)).toEqual([{ type: 'NodeDeleted', state: 'connected', path: `${p}/kid` }]);
    });

    it('watch = true delivers to the client "watch" event', async () => {
      const p = `${root}/dw`;
      await zk.create(p);
      const got = new Promise<WatchEvent>((r) => zk.once('watch', r));
      await zk.getData(p, true);
      await zk.setData(p, 'x');
      expect(await got).toEqual({ type: 'NodeDataChanged', state: 'connected', path: p });
    });

    it('removeWatches / checkWatches', async () => {
      const p = `${root}/rw`;
      await zk.create(p);
      const log = new EventLog();
      await zk.getData(p, log.listener);
      await zk.checkWatches(p, 'data');
      await zk.removeWatches(p, 'data');
      expect(log.events).toEqual([{ type: 'DataWatchRemoved', state: 'connected', path: p }]);
      expect(await codeOf(zk.checkWatches(p, 'data'))).toBe(ErrorCode.NOWATCHER);
      expect(await codeOf(zk.removeWatches(p, 'children'))).toBe(ErrorCode.NOWATCHER);
      await zk.setData(p, 'y');
      await zk.sync(p);
      expect(log.events.length).toBe(1);
    });

    it('multi: all ops applied atomically with per-op results', async () => {
      await zk.create(`${root}/m`, 'v0');
      const results = await zk
        .transaction()
        .create(`${root}/m/a`, 'x')
        .create(`${root}/m/s-`, null, { mode: 'persistent_sequential' })
        .setData(`${root}/m`, 'v1', 0)
        .check(`${root}/m`, 1)
        .delete(`${root}/m/a`)
        .commit();
      expect(results.map((r) => r.type)).toEqual(['create', 'create', 'setData', 'check', 'delete']);
      expect(results[0]).toMatchObject({ type: 'create', path: `${root}/m/a` });
      expect(results[1]).toMatchObject({ type: 'create', path: `${root}/m/s-0000000001` });
      expect(results[2]).toMatchObject({ type: 'setData', stat: { version: 1 } });
      expect(await zk.exists(`${root}/m/a`)).toBeNull();
      expect((await zk.getData(`${root}/m`)).data.toString()).toBe('v1');
    });

    it('multi: a failing op aborts all and reports every result', async () => {
      await zk.create(`${root}/f`, 'v0');
      const err = await zk
        .transaction()
        .create(`${root}/f/new`)
        .setData(`${root}/missing`, 'x')
        .delete(`${root}/f`)
        .commit()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransactionError);
      const te = err as TransactionError;
      expect(te.code).toBe(ErrorCode.NONODE);
      expect(te.failedOpIndex).toBe(1);
      expect(te.path).toBe(`${root}/missing`);
      expect(te.results).toEqual([
        { type: 'error', code: ErrorCode.OK },
        { type: 'error', code: ErrorCode.NONODE },
        { type: 'error', code: ErrorCode.RUNTIMEINCONSISTENCY },
      ]);
      expect(await zk.exists(`${root}/f/new`)).toBeNull();
      expect(await zk.exists(`${root}/f`)).not.toBeNull();

      const bad = await zk.transaction().check(`${root}/f`, 5).commit().catch((e: unknown) => e);
      expect((bad as TransactionError).code).toBe(ErrorCode.BADVERSION);
    });

    it('multiRead returns each read or its own error', async () => {
      await zk.create(`${root}/r`, 'data');
      await zk.create(`${root}/r/k`);
      const res = await zk.multiRead([
        { type: 'getData', path: `${root}/r` },
        { type: 'getChildren', path: `${root}/r` },
        { type: 'getData', path: `${root}/nope` },
      ]);
      expect(res[0]).toMatchObject({ type: 'getData', stat: { dataLength: 4 } });
      expect(res[0]!.type === 'getData' && res[0]!.data.toString()).toBe('data');
      expect(res[1]).toEqual({ type: 'getChildren', children: ['k'] });
      expect(res[2]).toEqual({ type: 'error', code: ErrorCode.NONODE });
    });

    it('chroot: paths, created names, watch events and multi results are relative', async () => {
      const chrooted = await connect(root);
      expect(await chrooted.create('/x', 'in')).toBe('/x');
      expect((await zk.getData(`${root}/x`)).data.toString()).toBe('in');
      expect(await chrooted.create('/s-', null, { mode: 'persistent_sequential' })).toBe('/s-0000000001');
      expect((await chrooted.getChildren('/')).sort()).toEqual(['s-0000000001', 'x']);
      const log = new EventLog();
      await chrooted.getData('/x', log.listener);
      await zk.setData(`${root}/x`, 'changed');
      expect((await log.nodeEvents(1))[0]).toEqual({ type: 'NodeDataChanged', state: 'connected', path: '/x' });
      const res = await chrooted.transaction().create('/y').commit();
      expect(res[0]).toMatchObject({ type: 'create', path: '/y' });
      const eph = await chrooted.create('/e', null, { mode: 'ephemeral' });
      expect(await chrooted.getEphemerals('/')).toEqual([eph]);
      const err = await chrooted.getData('/nope').catch((e: unknown) => e);
      expect((err as ZooKeeperError).path).toBe('/nope');
    });

    it('digest ACLs: NOAUTH without credentials, access after addAuth', async () => {
      const owner = await connect();
      await owner.addAuth('digest', 'alice:secret');
      const p = `${root}/secure`;
      await owner.create(p, 'top', { acl: [{ perms: Perms.ALL, id: { scheme: 'digest', id: digestId('alice', 'secret') } }] });
      expect(await codeOf(zk.getData(p))).toBe(ErrorCode.NOAUTH);
      expect((await owner.getData(p)).data.toString()).toBe('top');
      const acl = await owner.getACL(p);
      expect(acl.acl).toEqual([{ perms: Perms.ALL, id: { scheme: 'digest', id: digestId('alice', 'secret') } }]);
      await zk.addAuth('digest', 'alice:secret');
      expect((await zk.getData(p)).data.toString()).toBe('top');
      // CREATOR_ALL_ACL resolves to the creator's authenticated identity.
      const q = await owner.create(`${root}/mine`, null, { acl: Acls.CREATOR_ALL_ACL });
      expect((await owner.getACL(q)).acl[0]!.id).toEqual({ scheme: 'digest', id: digestId('alice', 'secret') });
      const st = await owner.setACL(q, Acls.READ_ACL_UNSAFE, 0);
      expect(st.aversion).toBe(1);
      const infos = await owner.whoAmI();
      expect(infos).toContainEqual({ authScheme: 'digest', user: 'alice' });
    });

    it("whoAmI and an auth ACL list a connection's identities in ZooKeeper's order, not the order they were added", async () => {
      const c = await connect();
      // ZooKeeper keeps them in a ConcurrentHashMap-backed set: these come out alice, bob, ip, carol.
      for (const user of ['carol', 'alice', 'bob']) await c.addAuth('digest', `${user}:secret`);
      expect(await c.whoAmI()).toEqual([
        { authScheme: 'digest', user: 'alice' },
        { authScheme: 'digest', user: 'bob' },
        { authScheme: 'ip', user: '127.0.0.1' },
        { authScheme: 'digest', user: 'carol' },
      ]);
      const p = await c.create(`${root}/auth-order`, null, { acl: Acls.CREATOR_ALL_ACL });
      expect((await c.getACL(p)).acl.map((a) => a.id)).toEqual(['alice', 'bob', 'carol'].map((u) => ({ scheme: 'digest', id: digestId(u, 'secret') })));
    });

    it('credentials the server rejects end the session in state authFailed', async () => {
      const c = await connect();
      const states: ClientState[] = [];
      c.on('state', (s: ClientState) => states.push(s));
      expect(await codeOf(c.addAuth('no-such-scheme', 'x'))).toBe(ErrorCode.AUTHFAILED);
      expect(c.state).toBe('authFailed');
      expect(states).toEqual(['authFailed']);
      expect(await codeOf(c.getData('/'))).toBe(ErrorCode.AUTHFAILED);
    });

    it('persistent recursive watch streams every descendant event, without child events', async () => {
      const base = `${root}/pr`;
      await zk.create(base);
      const stream = await zk.watchEvents(base, 'persistentRecursive');
      const other = await connect();
      await other.create(`${base}/a`, '1');
      await other.setData(`${base}/a`, '2');
      await other.create(`${base}/a/b`);
      await other.delete(`${base}/a/b`);
      await other.setData(base, 'root');
      const seen: Array<[string, string | null]> = [];
      for await (const e of stream) {
        seen.push([e.type, e.path]);
        if (seen.length === 5) break; // break -> return() -> close(): removes the watch
      }
      expect(seen).toEqual([
        ['NodeCreated', `${base}/a`],
        ['NodeDataChanged', `${base}/a`],
        ['NodeCreated', `${base}/a/b`],
        ['NodeDeleted', `${base}/a/b`],
        ['NodeDataChanged', base],
      ]);
      expect(await codeOf(zk.removeWatches(base, 'persistentRecursive'))).toBe(ErrorCode.NOWATCHER);
    });

    it('persistent watch keeps firing for the node itself', async () => {
      const p = `${root}/pw`;
      await zk.create(p);
      const log = new EventLog();
      await zk.addWatch(p, 'persistent', log.listener);
      await zk.setData(p, '1');
      await zk.setData(p, '2');
      await zk.create(`${p}/c`);
      const evs = await log.nodeEvents(3);
      expect(evs.map((e) => e.type)).toEqual(['NodeDataChanged', 'NodeDataChanged', 'NodeChildrenChanged']);
      await zk.removeWatches(p, 'persistent');
      expect(log.events.at(-1)).toEqual({ type: 'PersistentWatchRemoved', state: 'connected', path: p });
    });

    it('a cut connection: in-flight requests fail with CONNECTIONLOSS, the session resumes, watches re-arm', async () => {
      const px = await proxy();
      const c = await connect('', {}, px.connectString);
      const sid = c.sessionId;
      const eph = await c.create(`${root}/alive`, null, { mode: 'ephemeral' });
      await c.create(`${root}/watched`, 'v0');
      const log = new EventLog();
      await c.getData(`${root}/watched`, log.listener);
      const persistent = new EventLog();
      await c.addWatch(`${root}/watched`, 'persistent', persistent.listener);
      const states: ClientState[] = [];
      c.on('state', (s: ClientState) => states.push(s));

      px.hold();
      const inFlight = c.getData(`${root}/watched`);
      await new Promise((r) => setTimeout(r, 100));
      px.block(true);
      expect(await codeOf(inFlight)).toBe(ErrorCode.CONNECTIONLOSS);
      await waitForState(c, 'disconnected');
      // A change while disconnected must still reach the re-armed watches (relativeZxid).
      await zk.setData(`${root}/watched`, 'v1');
      px.block(false);
      await waitForState(c, 'connected');
      expect(states).toEqual(['disconnected', 'connected']);
      expect(c.sessionId).toBe(sid);
      expect(log.events.map((e) => [e.type, e.state])).toContainEqual(['None', 'disconnected']);
      expect(await log.nodeEvents(1)).toEqual([{ type: 'NodeDataChanged', state: 'connected', path: `${root}/watched` }]);
      // Persistent watches are re-armed (ZooKeeper does not replay missed changes for them).
      await zk.setData(`${root}/watched`, 'v2');
      expect((await persistent.nodeEvents(1))[0]).toEqual({ type: 'NodeDataChanged', state: 'connected', path: `${root}/watched` });
      expect(await zk.exists(eph)).not.toBeNull();
      expect((await c.getData(`${root}/watched`)).data.toString()).toBe('v2');
    });

    it('a new client can take over a session with its id and password', async () => {
      const px = await proxy();
      const first = await connect('', {}, px.connectString);
      const eph = await first.create(`${root}/handover`, null, { mode: 'ephemeral' });
      // Keep the first client away, else both would keep stealing the session from each other.
      px.block(true);
      await waitForState(first, 'disconnected');
      const second = await connect('', { sessionId: first.sessionId, password: first.sessionPassword });
      expect(second.sessionId).toBe(first.sessionId);
      expect(await second.getEphemerals(root)).toEqual([eph]);
    });

    it('resuming an unknown session reports expiry', async () => {
      const err = await ZooKeeperClient.connect(server.connectString, { sessionId: 0x7fff00000000abcdn, password: Buffer.alloc(16), connectTimeoutMs: 10000 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ZooKeeperError);
      expect((err as ZooKeeperError).code).toBe(ErrorCode.SESSIONEXPIRED);
    });

    it('session expiry while disconnected: expired state, watchers told, client stops', async () => {
      const px = await proxy();
      const c = await connect('', { sessionTimeoutMs: 4000 }, px.connectString);
      const p = await c.create(`${root}/exp`, null, { mode: 'ephemeral' });
      const log = new EventLog();
      await c.exists(p, log.listener);
      px.block(true);
      await waitForState(c, 'disconnected');
      // Wait until the server has dropped the session (its ephemeral is gone).
      await waitFor(async () => (await zk.exists(p)) === null, 'the server to expire the session (its ephemeral gone)', 20000, 250);
      expect(await zk.exists(p)).toBeNull();
      px.block(false);
      await waitForState(c, 'expired');
      expect(log.events).toContainEqual({ type: 'None', state: 'expired', path: null });
      expect(await codeOf(c.getData(root))).toBe(ErrorCode.SESSIONEXPIRED);
    }, 40000);

    it('a reply larger than maxPacketBytes fails its request with CONNECTIONLOSS saying so; the session goes on', async () => {
      const dir = `${root}/wide`;
      await zk.create(dir);
      const names = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')}-${'n'.repeat(100)}`);
      for (const n of names) await zk.create(`${dir}/${n}`);
      // About 4.3 KB of names: past a 2 KiB limit, well within the default one.
      const small = await connect('', { maxPacketBytes: 2048 });
      const session = small.sessionId;
      const err = await small.getChildren(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZooKeeperError);
      expect((err as ZooKeeperError).code).toBe(ErrorCode.CONNECTIONLOSS);
      expect((err as ZooKeeperError).detail).toMatch(/reply of \d+ bytes exceeds maxPacketBytes \(2048\)/);
      await waitForState(small, 'connected');
      expect(small.sessionId).toBe(session);
      expect((await small.getData(dir)).stat.numChildren).toBe(names.length);
      expect((await zk.getChildren(dir)).sort()).toEqual(names);
      expect(() => ZooKeeperClient.connect(server.connectString, { maxPacketBytes: 10 })).toThrow(RangeError);
    });

    it('connect() to a dead address rejects with CONNECTIONLOSS after connectTimeoutMs', async () => {
      const px = await proxy();
      px.block(true);
      const err = await ZooKeeperClient.connect(px.connectString, { connectTimeoutMs: 1500 }).catch((e: unknown) => e);
      expect((err as ZooKeeperError).code).toBe(ErrorCode.CONNECTIONLOSS);
    });
  });
}
