# Local sessions (localSessionsEnabled) as a kazoo client sees them on a 3-member ensemble: one transcript line per step.
#
# Run by test/integration/ensemble-local-sessions.test.ts. The transcript names members by role
# (leader, follower-a, follower-b) and prints no session id, time or port, so the same run
# against Apache ZooKeeper 3.8 and zabkeeper must print the same lines. It waits for what it
# expects (a watch event, a sync) instead of sleeping.
#
#   python3 kazoo_local_sessions.py <host:port>,<host:port>,<host:port>
import re
import socket
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import EXCEPTIONS, ZookeeperError


class EphemeralOnLocalSessionError(ZookeeperError):
    """-120: kazoo has no class for it (its connection loop dies on an unknown code)."""


EXCEPTIONS[-120] = EphemeralOnLocalSessionError

hosts = sys.argv[1].split(',')


def four_letter_word(host, word):
    addr, port = host.rsplit(':', 1)
    s = socket.create_connection((addr, int(port)), timeout=5)
    s.sendall(word.encode())
    out = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out.decode()


def mntr(host, key):
    for line in four_letter_word(host, 'mntr').splitlines():
        if line.startswith('zk_' + key + '\t'):
            return line.split('\t')[1]
    return None


def mode(host):
    m = re.search(r'^Mode: (\w+)', four_letter_word(host, 'srvr'), re.M)
    return m.group(1) if m else None


modes = [mode(h) for h in hosts]
leader = hosts[modes.index('leader')]
followers = [h for h, m in zip(hosts, modes) if m == 'follower']
names = {leader: 'leader', followers[0]: 'follower-a', followers[1]: 'follower-b'}


def out(*words):
    print(*words, flush=True)


def counts(*members):
    return ' '.join('%s=local:%s,global:%s' % (names[h], mntr(h, 'local_sessions'), mntr(h, 'global_sessions')) for h in members)


def outcome(call):
    try:
        result = call()
        return 'ok' if result is None else repr(result)
    except Exception as e:  # the exception's class is the observable outcome
        return type(e).__name__


for role, target, elsewhere in (('follower', followers[0], followers[1]), ('leader', leader, followers[0])):
    watcher = followers[1] if target != followers[1] else leader
    out(role, 'before', counts(target, leader))
    c = KazooClient(hosts=target, timeout=6)
    c.start()
    sid, passwd = c.client_id
    out(role, 'connected', counts(target, leader))
    base = '/' + role
    out(role, 'create persistent', outcome(lambda: c.create(base, b'x')))
    fired = threading.Event()
    events = []
    c.get(base, watch=lambda e: (events.append(e.type), fired.set()))
    c.set(base, b'y')
    out(role, 'watch fired', fired.wait(20), events)
    other = KazooClient(hosts=watcher, timeout=6)
    other.start()
    out(role, 'create ephemeral', outcome(lambda: c.create(base + '/e', b'', ephemeral=True)))
    other.sync(base)
    stat = other.exists(base + '/e')
    out(role, 'ephemeral seen from', names[watcher], stat is not None, 'owned by the session' if stat is not None and stat.ephemeralOwner == sid else '')
    t = c.transaction()
    t.create(base + '/m', b'', ephemeral=True)
    out(role, 'multi with an ephemeral', outcome(t.commit))
    out(role, 'create ephemeral sequential', outcome(lambda: c.create(base + '/s', b'', ephemeral=True, sequence=True)))
    out(role, 'create persistent again', outcome(lambda: c.create(base + '/p', b'')))
    out(role, 'after the creates', counts(target, leader))
    moved = KazooClient(hosts=elsewhere, client_id=(sid, passwd), timeout=6)
    moved.start(timeout=20)
    out(role, 'same session on', names[elsewhere], 'kept' if moved.client_id[0] == sid else 'expired (a new session instead)')
    global_session = moved.client_id[0] == sid
    moved.stop()
    moved.close()
    if not global_session:
        out(role, 'the session still works on', names[target], outcome(lambda: c.get(base)[0]))
    c.stop()
    c.close()
    out(role, 'after close', counts(target, leader))
    other.stop()
    other.close()

c = KazooClient(hosts=followers[0], timeout=6)
c.start()
dump = four_letter_word(followers[0], 'dump')
out('dump on follower-a', [re.sub(r' ?\(.*', '', line) for line in dump.splitlines() if re.match(r'(Local|Global) Session', line)])
dump = four_letter_word(leader, 'dump')
out('dump on the leader', [re.sub(r' ?\(.*', '', line) for line in dump.splitlines() if re.match(r'(Local|Global) Session', line)])
c.stop()
c.close()
