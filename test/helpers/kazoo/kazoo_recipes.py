# kazoo's client calls and every recipe it ships against one ZooKeeper-protocol server: a transcript of what each step observed.
#
# Run by test/integration/kazoo-recipes.test.ts with Debian's python3-kazoo (2.8). Each scenario
# works under its own root, waits for the events it expects instead of sleeping, and prints one
# line per step, so the same run against Apache ZooKeeper 3.8 and zabkeeper must print the same
# lines.
#
#   python3 kazoo_recipes.py <hosts> <root> <scenario>...

import datetime
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.recipe.cache import TreeCache
from kazoo.recipe.lease import MultiNonBlockingLease, NonBlockingLease
from kazoo.recipe.partitioner import PartitionState
from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE

WAIT_S = 20
hosts = sys.argv[1]
opened = []


def client(auth=None):
    zk = KazooClient(hosts=hosts, timeout=10, auth_data=auth)
    zk.start(timeout=30)
    opened.append(zk)
    return zk


def step(name, fn):
    """Prints "name: result", or what kazoo raised: a server's error by class, its own refusal with the message."""
    try:
        out = fn()
    except KazooException as e:
        out = type(e).__name__
    except ValueError as e:
        out = 'ValueError %s' % e
    print('%s: %s' % (name, out), flush=True)


def wait_until(cond, what):
    deadline = time.time() + WAIT_S
    while not cond():
        if time.time() > deadline:
            raise RuntimeError('timed out waiting for ' + what)
        time.sleep(0.005)


def stat(s):
    if s is None:
        return 'None'
    return 'version=%d cversion=%d aversion=%d dataLength=%d numChildren=%d ephemeral=%s' % (
        s.version, s.cversion, s.aversion, s.dataLength, s.numChildren, s.ephemeralOwner != 0)


def client_calls(r):
    zk = client()
    step('ensure_path', lambda: zk.ensure_path(r + '/a/b'))
    step('create makepath', lambda: zk.create(r + '/x/y/z', b'z', makepath=True))
    step('create existing', lambda: zk.create(r + '/x'))
    step('create in missing parent', lambda: zk.create(r + '/nope/x'))
    step('create sequence', lambda: zk.create(r + '/a/s-', b'1', sequence=True))
    step('create ephemeral sequence', lambda: zk.create(r + '/a/e-', ephemeral=True, sequence=True))
    step('create include_data', lambda: (lambda p, s: p + ' ' + stat(s))(*zk.create(r + '/d', b'data', include_data=True)))
    step('create ephemeral with children', lambda: (zk.create(r + '/eph', ephemeral=True), zk.create(r + '/eph/kid'))[1])
    step('create bad path', lambda: zk.create(r + '/bad//path'))
    step('get', lambda: (lambda d, s: '%s %s' % (d, stat(s)))(*zk.get(r + '/d')))
    step('get missing', lambda: zk.get(r + '/nope'))
    step('exists', lambda: stat(zk.exists(r + '/d')))
    step('exists missing', lambda: stat(zk.exists(r + '/nope')))
    step('set', lambda: stat(zk.set(r + '/d', b'more', version=0)))
    step('set stale', lambda: stat(zk.set(r + '/d', b'again', version=0)))
    step('get_children', lambda: sorted(zk.get_children(r + '/a')))
    step('get_children include_data', lambda: (lambda kids, s: '%s %s' % (sorted(kids), stat(s)))(*zk.get_children(r + '/a', include_data=True)))
    step('get_children missing', lambda: zk.get_children(r + '/nope'))
    step('delete with children', lambda: zk.delete(r + '/a'))
    step('delete recursive', lambda: zk.delete(r + '/x', recursive=True))
    step('delete missing', lambda: zk.delete(r + '/nope'))
    step('delete stale', lambda: zk.delete(r + '/d', version=0))
    step('sync', lambda: zk.sync(r + '/d'))

    def transaction():
        t = zk.transaction()
        t.create(r + '/t1', b'1')
        t.create(r + '/t-', b'2', sequence=True)
        t.set_data(r + '/t1', b'11')
        t.check(r + '/t1', 1)
        t.delete(r + '/d')
        return [type(x).__name__ if isinstance(x, Exception) else stat(x) if hasattr(x, 'czxid') else x for x in t.commit()]
    step('transaction', transaction)

    def failing():
        t = zk.transaction()
        t.create(r + '/t2')
        t.check(r + '/t1', 7)
        t.delete(r + '/nope')
        return [type(x).__name__ if isinstance(x, Exception) else x for x in t.commit()] + [stat(zk.exists(r + '/t2'))]
    step('failing transaction', failing)

    events = []
    zk.get(r + '/t1', watch=lambda e: events.append('data %s %s' % (e.type, e.path[len(r):])))
    zk.get_children(r, watch=lambda e: events.append('children %s %s' % (e.type, e.path[len(r):])))
    zk.exists(r + '/w', watch=lambda e: events.append('exists %s %s' % (e.type, e.path[len(r):])))
    zk.set(r + '/t1', b'x')
    zk.create(r + '/w')
    wait_until(lambda: len(events) == 3, 'three watch events')
    step('watch events', lambda: sorted(events))

    alice = client([('digest', 'alice:pw')])
    nobody = client()
    acl = make_digest_acl('alice', 'pw', all=True)
    step('create with digest acl', lambda: alice.create(r + '/secret', b's', acl=[acl]))
    step('get_acls', lambda: (lambda acls, s: '%s aversion=%d' % ([(a.id.scheme, a.id.id, a.perms) for a in acls], s.aversion))(*alice.get_acls(r + '/secret')))
    step('owner reads', lambda: alice.get(r + '/secret')[0])
    step('other reads', lambda: nobody.get(r + '/secret')[0])
    step('set_acls', lambda: stat(alice.set_acls(r + '/secret', OPEN_ACL_UNSAFE)))
    step('other reads after set_acls', lambda: nobody.get(r + '/secret')[0])
    step('add_auth bad scheme', lambda: nobody.add_auth('nosuchscheme', 'x'))


def locks(r):
    a = client()
    b = client()
    la = a.Lock(r + '/lock', 'A')
    lb = b.Lock(r + '/lock', 'B')
    step('A acquires', lambda: la.acquire(timeout=WAIT_S))
    step('B times out', lambda: lb.acquire(timeout=0.3))
    step('contenders', lambda: la.contenders())
    got = []
    t = threading.Thread(target=lambda: got.append(lb.acquire(timeout=WAIT_S)))
    t.start()
    wait_until(lambda: len(la.contenders()) == 2, 'B to queue for the lock')
    step('contenders while B waits', lambda: la.contenders())
    la.release()
    t.join()
    step('B acquires once A releases', lambda: got)
    lb.release()
    step('lock nodes left', lambda: len(a.get_children(r + '/lock')))
    ra = a.ReadLock(r + '/rw', 'A')
    rb = b.ReadLock(r + '/rw', 'B')
    wb = b.WriteLock(r + '/rw', 'W')
    step('A reads', lambda: ra.acquire(timeout=WAIT_S))
    step('B reads too', lambda: rb.acquire(timeout=WAIT_S))
    step('write waits', lambda: wb.acquire(timeout=0.3))
    ra.release()
    rb.release()
    step('write once readers leave', lambda: wb.acquire(timeout=WAIT_S))
    wb.release()
    sa = a.Semaphore(r + '/sem', 'A', max_leases=2)
    sb = b.Semaphore(r + '/sem', 'B', max_leases=2)
    sc = client().Semaphore(r + '/sem', 'C', max_leases=2)
    step('A leases', lambda: sa.acquire(timeout=WAIT_S))
    step('B leases', lambda: sb.acquire(timeout=WAIT_S))
    step('lease holders', lambda: sorted(sa.lease_holders()))
    step('C times out', lambda: sc.acquire(timeout=0.3))
    sa.release()
    step('C leases once A releases', lambda: sc.acquire(timeout=WAIT_S))
    step('semaphore wrong max', lambda: a.Semaphore(r + '/sem', 'D', max_leases=3).acquire(timeout=1))
    sb.release()
    sc.release()
    now = datetime.datetime(2030, 1, 1)
    dur = datetime.timedelta(seconds=60)
    step('lease A', lambda: bool(NonBlockingLease(a, r + '/lease', dur, 'A', utcnow=lambda: now)))
    step('lease B while A holds', lambda: bool(NonBlockingLease(b, r + '/lease', dur, 'B', utcnow=lambda: now)))
    step('lease B after expiry', lambda: bool(NonBlockingLease(b, r + '/lease', dur, 'B', utcnow=lambda: now + 2 * dur)))
    step('multi lease A', lambda: bool(MultiNonBlockingLease(a, 2, r + '/mlease', dur, 'A', utcnow=lambda: now)))
    step('multi lease B', lambda: bool(MultiNonBlockingLease(b, 2, r + '/mlease', dur, 'B', utcnow=lambda: now)))
    step('multi lease C', lambda: bool(MultiNonBlockingLease(a, 2, r + '/mlease', dur, 'C', utcnow=lambda: now)))


def election(r):
    clients = [client() for _ in range(3)]
    led = []
    release = threading.Event()
    elections = [c.Election(r + '/election', 'p%d' % (i + 1)) for i, c in enumerate(clients)]

    def run(e, ident):
        def lead():
            led.append(ident)
            release.wait(WAIT_S)
        e.run(lead)
    threads = []
    for i, e in enumerate(elections):
        t = threading.Thread(target=run, args=(e, 'p%d' % (i + 1)))
        t.start()
        threads.append(t)
        # One at a time, so their sequence numbers (and the order of succession) are fixed.
        wait_until(lambda: len(elections[0].contenders()) == i + 1, 'election contender to register')
    wait_until(lambda: len(led) == 1, 'a leader')
    step('leader', lambda: led)
    step('contenders', lambda: elections[1].contenders())
    elections[0].cancel()
    release.set()
    wait_until(lambda: len(led) == 3, 'every contender to lead in turn')
    step('leaders in turn', lambda: led)
    for t in threads:
        t.join()
    party = clients[0].Party(r + '/party', 'one')
    party2 = clients[1].Party(r + '/party', 'two')
    party.join()
    party2.join()
    step('party', lambda: sorted(party))
    step('party size', lambda: len(party))
    party2.leave()
    step('party after leave', lambda: sorted(party))
    shallow = clients[2].ShallowParty(r + '/shallow', 'three')
    shallow.join()
    step('shallow party', lambda: list(shallow))
    partitioners = [c.SetPartitioner(r + '/partition', set=('a', 'b', 'c', 'd'), identifier='p%d' % (i + 1), time_boundary=0.2) for i, c in enumerate(clients[:2])]
    wait_until(lambda: all(p.state == PartitionState.ACQUIRED for p in partitioners), 'both partitioners to acquire')
    step('partitions', lambda: sorted(sorted(p) for p in partitioners))
    for p in partitioners:
        p.finish()


def queues(r):
    zk = client()
    q = zk.Queue(r + '/queue')
    for i in range(3):
        q.put(b'q%d' % i)
    q.put(b'urgent', priority=1)
    step('queue length', lambda: len(q))
    step('queue order', lambda: [q.get() for _ in range(4)])
    step('queue empty', lambda: q.get())
    lq = zk.LockingQueue(r + '/lqueue')
    lq.put_all([b'a', b'b'], priority=50)
    lq.put(b'first', priority=10)
    step('locking queue get', lambda: lq.get(timeout=WAIT_S))
    step('consume', lambda: lq.consume())
    step('locking queue next', lambda: lq.get(timeout=WAIT_S))
    step('release', lambda: lq.release())
    step('locking queue again', lambda: lq.get(timeout=WAIT_S))
    step('holds', lambda: lq.holds_lock())
    lq.consume()
    step('locking queue last', lambda: (lq.get(timeout=WAIT_S), lq.consume())[0])
    step('locking queue length', lambda: len(lq))
    step('locking queue empty get', lambda: lq.get(timeout=0.3))


def barriers(r):
    zk = client()
    b = zk.Barrier(r + '/barrier')
    step('create', lambda: b.create())
    step('wait while up', lambda: b.wait(0.3))
    passed = []
    t = threading.Thread(target=lambda: passed.append(client().Barrier(r + '/barrier').wait(WAIT_S)))
    t.start()
    wait_until(lambda: t.is_alive(), 'the waiter to start')
    step('remove', lambda: b.remove())
    t.join()
    step('waiter passed', lambda: passed)
    entered = []
    threads = []
    for i in range(3):
        c = client()
        d = c.DoubleBarrier(r + '/double', 3, identifier='m%d' % i)

        def member(d=d):
            d.enter()
            entered.append(True)
            d.leave()
        t = threading.Thread(target=member)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(WAIT_S)
    step('double barrier', lambda: entered)
    step('double barrier nodes left', lambda: zk.get_children(r + '/double'))
    counter = zk.Counter(r + '/counter')
    counter += 5
    counter -= 2
    step('counter', lambda: counter.value)
    counters = [client().Counter(r + '/counter') for _ in range(2)]

    def bump(c):
        for _ in range(20):
            c += 1
    threads = [threading.Thread(target=bump, args=(c,)) for c in counters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    step('counter after 40 increments', lambda: zk.Counter(r + '/counter').value)
    fc = zk.Counter(r + '/fcounter', default=0.5)
    fc += 1.25
    step('float counter', lambda: fc.value)
    cc = zk.Counter(r + '/ccounter', support_curator=True)
    cc += 7
    step('curator-compatible counter', lambda: (cc.value, zk.get(r + '/ccounter')[0]))


def watchers(r):
    zk = client()
    zk.ensure_path(r + '/w')
    data_events = []
    child_events = []

    @zk.DataWatch(r + '/w/d')
    def on_data(data, stat, event):
        data_events.append('%s %s %s' % (data, stat.version if stat else None, event.type if event else None))

    @zk.ChildrenWatch(r + '/w')
    def on_children(children):
        child_events.append(sorted(children))

    wait_until(lambda: data_events and child_events, 'the watches to report their first state')
    zk.create(r + '/w/d', b'1')
    wait_until(lambda: len(data_events) >= 2 and len(child_events) >= 2, 'the create')
    zk.set(r + '/w/d', b'2')
    wait_until(lambda: len(data_events) >= 3, 'the set')
    zk.create(r + '/w/e')
    wait_until(lambda: len(child_events) >= 3, 'the second child')
    zk.delete(r + '/w/d')
    wait_until(lambda: len(data_events) >= 4 and len(child_events) >= 4, 'the delete')
    step('DataWatch', lambda: data_events)
    step('ChildrenWatch', lambda: child_events)
    zk.create(r + '/tc/pre', b'p', makepath=True)
    events = []
    cache = TreeCache(zk, r + '/tc')
    cache.listen(lambda e: events.append('%s %s' % (e.event_type, e.event_data.path[len(r):] if e.event_data else '')))
    cache.start()
    wait_until(lambda: any(e.startswith('6 ') for e in events), 'TreeCache to initialise')
    zk.create(r + '/tc/x', b'1')
    wait_until(lambda: len(events) >= 4, 'TreeCache add')
    zk.set(r + '/tc/x', b'2')
    wait_until(lambda: len(events) >= 5, 'TreeCache update')
    zk.delete(r + '/tc/x')
    wait_until(lambda: len(events) >= 6, 'TreeCache remove')
    step('TreeCache events (0 added, 1 updated, 2 removed, 6 initialized)', lambda: events)
    step('TreeCache data', lambda: cache.get_data(r + '/tc/pre').data)
    cache.close()


SCENARIOS = {'client': client_calls, 'locks': locks, 'election': election, 'queues': queues, 'barriers': barriers, 'watchers': watchers}

code = 0
try:
    for name in sys.argv[3:]:
        print('## ' + name, flush=True)
        SCENARIOS[name](sys.argv[2] + '/' + name)
    print('## done', flush=True)
except Exception as e:  # noqa: BLE001 - the transcript names what broke
    import traceback
    traceback.print_exc()
    print('## failed: %r' % e, flush=True)
    code = 1
finally:
    for zk in opened:
        try:
            zk.stop()
            zk.close()
        except Exception:  # noqa: BLE001
            pass
sys.exit(code)
