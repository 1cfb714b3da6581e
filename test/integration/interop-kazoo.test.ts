// kazoo (the Python client) against a zabkeeper server process.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { requireKazoo, runKazoo } from '../helpers/kazoo.js';

const SCRIPT = String.raw`
import sys, json, threading
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, BadVersionError, NotEmptyError, NoNodeError
hosts = sys.argv[1]
out = {}
zk = KazooClient(hosts=hosts, timeout=10)
zk.start(timeout=10)
zk.create('/kz', b'v0')
try:
    zk.create('/kz', b'again')
except NodeExistsError:
    out['exists_error'] = True
data, stat = zk.get('/kz')
out['data'] = data.decode(); out['version'] = stat.version
zk.set('/kz', b'v1', version=0)
try:
    zk.set('/kz', b'v2', version=0)
except BadVersionError:
    out['bad_version'] = True
fired = threading.Event(); events = []
def w(ev):
    events.append([ev.type, ev.path]); fired.set()
zk.get('/kz', watch=w)
zk.set('/kz', b'v2')
fired.wait(10)
out['events'] = events
p1 = zk.create('/kz/s-', b'', sequence=True)
p2 = zk.create('/kz/s-', b'', sequence=True, ephemeral=True)
out['seq'] = [p1, p2]
out['children'] = sorted(zk.get_children('/kz'))
tx = zk.transaction(); tx.create('/kz/t1', b'x'); tx.check('/kz', 99)
out['tx'] = [type(r).__name__ if isinstance(r, Exception) else r for r in tx.commit()]
out['t1_exists'] = zk.exists('/kz/t1') is not None
try:
    zk.delete('/kz')
except NotEmptyError:
    out['not_empty'] = True
zk.delete('/kz', recursive=True)
out['gone'] = zk.exists('/kz') is None
zk.stop(); zk.close()
print(json.dumps(out))
`;

describe('kazoo interop', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    await requireKazoo();
    server = await startServerProcess();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs CRUD, versions, watches, sequentials and a failing transaction', async () => {
    const r = await runKazoo(SCRIPT, [server.connectString]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.exists_error).toBe(true);
    expect(out.data).toBe('v0');
    expect(out.version).toBe(0);
    expect(out.bad_version).toBe(true);
    expect(out.events).toEqual([['CHANGED', '/kz']]);
    expect(out.seq).toEqual(['/kz/s-0000000000', '/kz/s-0000000001']);
    expect(out.children).toEqual(['s-0000000000', 's-0000000001']);
    expect(out.tx).toEqual(['RolledBackError', 'BadVersionError']);
    expect(out.t1_exists).toBe(false);
    expect(out.not_empty).toBe(true);
    expect(out.gone).toBe(true);
  }, 90_000);
});
