// Apache Curator's framework and recipes against one ZooKeeper-protocol server: a transcript of what each step observed.
//
// Run by test/helpers/curator.ts (compiled with javac against Debian's Curator 5.4 jars). Each
// scenario works under its own root, waits for the events it expects instead of sleeping, and
// prints one line per step, so the same scenarios against Apache ZooKeeper 3.8 and zabkeeper
// must print the same lines once session ids and protected-name UUIDs are masked.
//
//   java -cp ... CuratorScenarios <connectString> <root> <scenario>...
//
// The "failover" scenario prints "session 0x..." and "ready", then waits for a line on stdin
// (the test kills the member serving the session meanwhile) before it checks what survived;
// "discovery" reads the services another client registered, registers one, prints "ready"
// and keeps it until a line arrives on stdin.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.PathChildrenCache;
import org.apache.curator.framework.recipes.cache.TreeCache;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

public final class CuratorScenarios {
  private static final long WAIT_MS = 20_000;
  private static String connectString;
  private static final List<CuratorFramework> opened = new ArrayList<>();

  interface Step {
    Object run() throws Exception;
  }

  /** Prints "name: result", or what the step failed with when it is a KeeperException or the client's refusal. */
  static void step(String name, Step body) throws Exception {
    String out;
    try {
      out = String.valueOf(body.run());
    } catch (KeeperException e) {
      out = "KeeperException " + e.code();
    } catch (IllegalArgumentException e) {
      // The client library's own refusal (e.g. a TTL for a mode without one), before any request.
      out = "IllegalArgumentException " + e.getMessage();
    }
    System.out.println(name + ": " + out);
  }

  static void say(String line) {
    System.out.println(line);
  }

  static void await(BooleanSupplier cond, String what) throws Exception {
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (!cond.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("timed out waiting for " + what);
      Thread.sleep(5);
    }
  }

  static CuratorFramework client(String auth) throws Exception {
    CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
        .connectString(connectString)
        .sessionTimeoutMs(10_000)
        .connectionTimeoutMs(10_000)
        .retryPolicy(new ExponentialBackoffRetry(100, 10));
    if (auth != null) b = b.authorization("digest", auth.getBytes(StandardCharsets.UTF_8));
    CuratorFramework c = b.build();
    c.start();
    if (!c.blockUntilConnected(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected to " + connectString);
    opened.add(c);
    return c;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String str(byte[] b) {
    return b == null ? "null" : new String(b, StandardCharsets.UTF_8);
  }

  static String stat(Stat s) {
    return s == null ? "null" : "version=" + s.getVersion() + " cversion=" + s.getCversion() + " aversion=" + s.getAversion() + " dataLength=" + s.getDataLength() + " numChildren=" + s.getNumChildren() + " ephemeral=" + (s.getEphemeralOwner() != 0);
  }

  static String name(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  static String acls(List<ACL> list) {
    List<String> out = new ArrayList<>();
    for (ACL a : list) out.add(a.getId().getScheme() + ":" + a.getId().getId() + ":" + a.getPerms());
    return out.toString();
  }

  // ---- the framework's own operations ----

  static void framework(String r) throws Exception {
    CuratorFramework c = client(null);
    step("create parents", () -> c.create().creatingParentsIfNeeded().forPath(r + "/a/b/c", bytes("abc")));
    step("stat of parent", () -> stat(c.checkExists().forPath(r + "/a/b")));
    Stat created = new Stat();
    step("create storing stat", () -> c.create().storingStatIn(created).forPath(r + "/s", bytes("hello")) + " " + stat(created));
    step("create existing", () -> c.create().forPath(r + "/s"));
    step("create in missing parent", () -> c.create().forPath(r + "/missing/x"));
    step("sequential 1", () -> name(c.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(r + "/a/seq-")));
    step("sequential 2", () -> name(c.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(r + "/a/seq-")));
    step("protected ephemeral sequential", () -> name(c.create().withProtection().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(r + "/a/p-")));
    step("ttl node", () -> c.create().withTtl(60_000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(r + "/ttl", bytes("t")));
    step("ttl without ttl mode", () -> c.create().withTtl(60_000).withMode(CreateMode.PERSISTENT).forPath(r + "/ttl2"));
    step("container", () -> {
      c.createContainers(r + "/cont/inner");
      return stat(c.checkExists().forPath(r + "/cont")) + " / " + stat(c.checkExists().forPath(r + "/cont/inner"));
    });
    step("children", () -> {
      List<String> kids = new ArrayList<>(c.getChildren().forPath(r + "/a"));
      Collections.sort(kids);
      return kids;
    });
    step("exists missing", () -> stat(c.checkExists().forPath(r + "/nope")));
    Stat got = new Stat();
    step("getData", () -> str(c.getData().storingStatIn(got).forPath(r + "/s")) + " " + stat(got));
    step("getData missing", () -> str(c.getData().forPath(r + "/nope")));
    step("setData version 0", () -> stat(c.setData().withVersion(0).forPath(r + "/s", bytes("v1"))));
    step("setData stale version", () -> stat(c.setData().withVersion(0).forPath(r + "/s", bytes("v2"))));
    step("setData any version", () -> stat(c.setData().forPath(r + "/s", bytes("v3"))));
    step("delete stale version", () -> {
      c.delete().withVersion(7).forPath(r + "/s");
      return "deleted";
    });
    step("delete with children", () -> {
      c.delete().forPath(r + "/a/b");
      return "deleted";
    });
    step("delete deleting children", () -> {
      c.delete().guaranteed().deletingChildrenIfNeeded().forPath(r + "/a/b");
      return stat(c.checkExists().forPath(r + "/a/b"));
    });
    step("delete missing", () -> {
      c.delete().forPath(r + "/nope");
      return "deleted";
    });
    step("transaction", () -> {
      List<CuratorOp> ops = List.of(
          c.transactionOp().create().forPath(r + "/t1", bytes("1")),
          c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(r + "/t-", bytes("2")),
          c.transactionOp().setData().forPath(r + "/t1", bytes("11")),
          c.transactionOp().check().withVersion(1).forPath(r + "/t1"),
          c.transactionOp().delete().forPath(r + "/ttl"));
      List<String> out = new ArrayList<>();
      for (CuratorTransactionResult res : c.transaction().forOperations(ops)) {
        out.add(res.getType() + " " + name(res.getForPath()) + " -> " + (res.getResultPath() == null ? "" : name(res.getResultPath())) + (res.getResultStat() == null ? "" : " v" + res.getResultStat().getVersion()));
      }
      return out;
    });
    step("failing transaction", () -> {
      List<CuratorOp> ops = List.of(
          c.transactionOp().create().forPath(r + "/t2", bytes("2")),
          c.transactionOp().check().withVersion(5).forPath(r + "/t1"),
          c.transactionOp().delete().forPath(r + "/nope"));
      try {
        c.transaction().forOperations(ops);
        return "committed";
      } catch (KeeperException e) {
        List<String> out = new ArrayList<>();
        for (OpResult res : e.getResults()) out.add(res instanceof OpResult.ErrorResult ? "error " + KeeperException.Code.get(((OpResult.ErrorResult) res).getErr()) : res.getClass().getSimpleName());
        return "KeeperException " + e.code() + " " + out + " t2 " + stat(c.checkExists().forPath(r + "/t2"));
      }
    });
    step("sync", () -> {
      CountDownLatch done = new CountDownLatch(1);
      String[] seen = new String[1];
      c.sync().inBackground((cl, event) -> {
        seen[0] = event.getType() + " rc=" + event.getResultCode() + " " + name(event.getPath());
        done.countDown();
      }).forPath(r + "/t1");
      if (!done.await(WAIT_MS, TimeUnit.MILLISECONDS)) return "no callback";
      return seen[0];
    });
    c.create().forPath(r + "/w", bytes("0"));
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    Watcher oneShot = (WatchedEvent e) -> events.add("one-shot " + e.getType() + " " + name(e.getPath()));
    step("getData with watcher", () -> str(c.getData().usingWatcher(oneShot).forPath(r + "/w")));
    c.setData().forPath(r + "/w", bytes("1"));
    step("watch fired", () -> events.poll(WAIT_MS, TimeUnit.MILLISECONDS));
    step("exists watcher on missing", () -> stat(c.checkExists().usingWatcher(oneShot).forPath(r + "/w2")));
    c.create().forPath(r + "/w2");
    step("exists watch fired", () -> events.poll(WAIT_MS, TimeUnit.MILLISECONDS));
    Watcher removable = (WatchedEvent e) -> events.add("removable " + e.getType() + " " + name(e.getPath()));
    c.getChildren().usingWatcher(removable).forPath(r + "/w");
    step("remove watcher", () -> {
      c.watchers().remove(removable).forPath(r + "/w");
      return "removed";
    });
    step("watch removed event", () -> events.poll(WAIT_MS, TimeUnit.MILLISECONDS));
    step("remove watcher again", () -> {
      c.watchers().remove(removable).forPath(r + "/w");
      return "removed";
    });
    // On a path of its own: removing one watcher (above) only checks the server's watch
    // (checkWatches), so the session's child watch on /w stays, and ZooKeeper 3.8 and zabkeeper
    // differ by design on a child watch beside a recursive one (docs/compatibility.md).
    c.create().forPath(r + "/rw");
    Watcher recursive = (WatchedEvent e) -> events.add("recursive " + e.getType() + " " + e.getPath().substring(r.length()));
    step("add persistent recursive watch", () -> {
      c.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE).usingWatcher(recursive).forPath(r + "/rw");
      return "added";
    });
    c.create().forPath(r + "/rw/x", bytes("x"));
    c.create().forPath(r + "/rw/x/y");
    c.setData().forPath(r + "/rw/x", bytes("x2"));
    c.delete().deletingChildrenIfNeeded().forPath(r + "/rw/x");
    for (int i = 0; i < 5; i++) {
      final int n = i;
      step("recursive event " + n, () -> events.poll(WAIT_MS, TimeUnit.MILLISECONDS));
    }
    step("no further events", () -> events.poll(200, TimeUnit.MILLISECONDS));
  }

  static void acl(String r) throws Exception {
    CuratorFramework alice = client("alice:pw");
    CuratorFramework nobody = client(null);
    alice.create().forPath(r);
    step("create creator-all", () -> alice.create().withACL(ZooDefs.Ids.CREATOR_ALL_ACL).forPath(r + "/secret", bytes("s")));
    step("acl", () -> acls(alice.getACL().forPath(r + "/secret")));
    step("owner reads", () -> str(alice.getData().forPath(r + "/secret")));
    step("other reads", () -> str(nobody.getData().forPath(r + "/secret")));
    step("other sets", () -> stat(nobody.setData().forPath(r + "/secret", bytes("x"))));
    step("read-only acl", () -> {
      alice.create().withACL(ZooDefs.Ids.READ_ACL_UNSAFE).forPath(r + "/ro", bytes("r"));
      return acls(alice.getACL().forPath(r + "/ro"));
    });
    step("write to read-only", () -> stat(alice.setData().forPath(r + "/ro", bytes("w"))));
    step("setACL", () -> stat(alice.setACL().withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath(r + "/secret")));
    step("other reads after setACL", () -> str(nobody.getData().forPath(r + "/secret")));
    step("setACL stale version", () -> stat(alice.setACL().withVersion(0).withACL(ZooDefs.Ids.CREATOR_ALL_ACL).forPath(r + "/secret")));
  }

  // ---- recipes ----

  static void locks(String r) throws Exception {
    CuratorFramework a = client(null);
    CuratorFramework b = client(null);
    InterProcessMutex ma = new InterProcessMutex(a, r + "/mutex");
    InterProcessMutex mb = new InterProcessMutex(b, r + "/mutex");
    step("A acquires", () -> ma.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
    step("A re-enters", () -> ma.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
    step("B times out", () -> mb.acquire(300, TimeUnit.MILLISECONDS));
    step("participants", () -> ma.getParticipantNodes().size());
    ma.release();
    step("A holds after one release", () -> ma.isAcquiredInThisProcess());
    // A mutex belongs to the thread that took it: B's waiter takes it, notes it, and lets go.
    CountDownLatch bGot = new CountDownLatch(1);
    boolean[] bHeld = new boolean[1];
    Thread waiter = new Thread(() -> {
      try {
        if (mb.acquire(WAIT_MS, TimeUnit.MILLISECONDS)) {
          bHeld[0] = mb.isAcquiredInThisProcess();
          bGot.countDown();
          mb.release();
        }
      } catch (Exception e) {
        e.printStackTrace();
      }
    });
    waiter.start();
    await(() -> {
      try {
        return ma.getParticipantNodes().size() == 2;
      } catch (Exception e) {
        return false;
      }
    }, "B to queue for the mutex");
    ma.release();
    step("B acquires once A releases", () -> bGot.await(WAIT_MS, TimeUnit.MILLISECONDS));
    waiter.join();
    step("B held", () -> bHeld[0]);
    step("lock nodes left", () -> a.getChildren().forPath(r + "/mutex").size());

    InterProcessSemaphoreV2 sa = new InterProcessSemaphoreV2(a, r + "/sem", 2);
    InterProcessSemaphoreV2 sb = new InterProcessSemaphoreV2(b, r + "/sem", 2);
    Collection<Lease> two = sa.acquire(2, WAIT_MS, TimeUnit.MILLISECONDS);
    step("A leases", () -> two == null ? "none" : two.size());
    step("B gets none", () -> sb.acquire(300, TimeUnit.MILLISECONDS) == null ? "none" : "leased");
    sa.returnLease(two.iterator().next());
    step("B leases after a return", () -> {
      Lease l = sb.acquire(WAIT_MS, TimeUnit.MILLISECONDS);
      if (l == null) return "none";
      sb.returnLease(l);
      return "leased";
    });
    sa.returnAll(two);
    step("lease nodes left", () -> a.getChildren().forPath(r + "/sem/leases").size());

    InterProcessReadWriteLock ra = new InterProcessReadWriteLock(a, r + "/rw");
    InterProcessReadWriteLock rb = new InterProcessReadWriteLock(b, r + "/rw");
    step("A reads", () -> ra.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS));
    step("B reads too", () -> rb.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS));
    step("B cannot write", () -> rb.writeLock().acquire(300, TimeUnit.MILLISECONDS));
    ra.readLock().release();
    rb.readLock().release();
    step("B writes", () -> rb.writeLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS));
    step("A cannot read", () -> ra.readLock().acquire(300, TimeUnit.MILLISECONDS));
    rb.writeLock().release();
  }

  static void election(String r) throws Exception {
    List<LeaderLatch> latches = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      LeaderLatch l = new LeaderLatch(client(null), r + "/latch", "p" + i);
      l.start();
      latches.add(l);
      // Started one at a time, so their sequence numbers (and so the order of succession) are fixed.
      await(() -> {
        try {
          return l.getParticipants().size() == latches.size();
        } catch (Exception e) {
          return false;
        }
      }, "latch participant to register");
    }
    step("first leads", () -> latches.get(0).await(WAIT_MS, TimeUnit.MILLISECONDS));
    step("leader", () -> latches.get(1).getLeader().getId());
    step("leaders", () -> latches.stream().filter(LeaderLatch::hasLeadership).count());
    latches.get(0).close();
    step("second leads", () -> latches.get(1).await(WAIT_MS, TimeUnit.MILLISECONDS));
    step("leader after close", () -> latches.get(2).getLeader().getId());
    step("participants", () -> latches.get(2).getParticipants().size());
    latches.get(1).close();
    latches.get(2).close();

    List<String> order = new CopyOnWriteArrayList<>();
    List<LeaderSelector> selectors = new ArrayList<>();
    for (int i = 1; i <= 2; i++) {
      final String id = "s" + i;
      LeaderSelector s = new LeaderSelector(client(null), r + "/selector", new LeaderSelectorListenerAdapter() {
        @Override
        public void takeLeadership(CuratorFramework cf) {
          order.add(id);
        }
      });
      s.setId(id);
      selectors.add(s);
    }
    selectors.get(0).start();
    await(() -> order.size() == 1, "the first selector to lead");
    selectors.get(1).start();
    await(() -> order.size() == 2, "the second selector to lead");
    step("selector order", () -> order);
    for (LeaderSelector s : selectors) s.close();
  }

  static void caches(String r) throws Exception {
    CuratorFramework c = client(null);
    c.create().creatingParentsIfNeeded().forPath(r + "/cc/pre", bytes("p"));
    List<String> cc = new CopyOnWriteArrayList<>();
    CuratorCache cache = CuratorCache.build(c, r + "/cc");
    cache.listenable().addListener(CuratorCacheListener.builder()
        .forCreates(n -> cc.add("create " + n.getPath().substring(r.length()) + " " + str(n.getData())))
        .forChanges((o, n) -> cc.add("change " + n.getPath().substring(r.length()) + " " + str(o.getData()) + " -> " + str(n.getData())))
        .forDeletes(o -> cc.add("delete " + o.getPath().substring(r.length())))
        .forInitialized(() -> cc.add("initialized"))
        .build());
    cache.start();
    await(() -> cc.contains("initialized"), "CuratorCache to initialise");
    c.create().forPath(r + "/cc/x", bytes("1"));
    await(() -> cc.size() >= 4, "CuratorCache create");
    c.create().forPath(r + "/cc/x/deep", bytes("d"));
    await(() -> cc.size() >= 5, "CuratorCache deep create");
    c.setData().forPath(r + "/cc/x", bytes("2"));
    await(() -> cc.size() >= 6, "CuratorCache change");
    c.delete().deletingChildrenIfNeeded().forPath(r + "/cc/x");
    await(() -> cc.size() >= 8, "CuratorCache deletes");
    step("CuratorCache events", () -> cc);
    step("CuratorCache size", () -> cache.size());
    cache.close();

    c.create().forPath(r + "/pc");
    c.create().forPath(r + "/pc/before", bytes("b"));
    List<String> pc = new CopyOnWriteArrayList<>();
    PathChildrenCache children = new PathChildrenCache(c, r + "/pc", true);
    children.getListenable().addListener((cl, e) -> pc.add(e.getType() + (e.getData() == null ? "" : " " + name(e.getData().getPath()) + " " + str(e.getData().getData()))));
    children.start(PathChildrenCache.StartMode.POST_INITIALIZED_EVENT);
    await(() -> pc.contains("INITIALIZED"), "PathChildrenCache to initialise");
    c.create().forPath(r + "/pc/k", bytes("1"));
    await(() -> pc.size() >= 3, "PathChildrenCache add");
    c.setData().forPath(r + "/pc/k", bytes("2"));
    await(() -> pc.size() >= 4, "PathChildrenCache update");
    c.delete().forPath(r + "/pc/k");
    await(() -> pc.size() >= 5, "PathChildrenCache remove");
    step("PathChildrenCache events", () -> pc);
    children.close();

    List<String> tc = new CopyOnWriteArrayList<>();
    TreeCache tree = TreeCache.newBuilder(c, r + "/pc").build();
    tree.getListenable().addListener((cl, e) -> tc.add(e.getType() + (e.getData() == null ? "" : " " + e.getData().getPath().substring(r.length()))));
    tree.start();
    await(() -> tc.contains("INITIALIZED"), "TreeCache to initialise");
    c.create().forPath(r + "/pc/t", bytes("1"));
    await(() -> tc.size() >= 4, "TreeCache add");
    c.create().forPath(r + "/pc/t/u", bytes("1"));
    await(() -> tc.size() >= 5, "TreeCache deep add");
    c.delete().deletingChildrenIfNeeded().forPath(r + "/pc/t");
    await(() -> tc.size() >= 7, "TreeCache removes");
    step("TreeCache events", () -> tc);
    ChildData current = tree.getCurrentData(r + "/pc/before");
    step("TreeCache data", () -> current == null ? "null" : str(current.getData()));
    tree.close();
  }

  static void queues(String r) throws Exception {
    CuratorFramework c = client(null);
    QueueSerializer<String> ser = new QueueSerializer<String>() {
      public byte[] serialize(String item) {
        return bytes(item);
      }

      public String deserialize(byte[] b) {
        return str(b);
      }
    };
    List<String> consumed = new CopyOnWriteArrayList<>();
    QueueConsumer<String> consumer = new QueueConsumer<String>() {
      public void consumeMessage(String message) {
        consumed.add(message);
      }

      public void stateChanged(CuratorFramework cf, ConnectionState s) {}
    };
    DistributedQueue<String> q = QueueBuilder.builder(c, consumer, ser, r + "/dq").buildQueue();
    q.start();
    for (int i = 0; i < 5; i++) q.put("item" + i);
    await(() -> consumed.size() == 5, "five items consumed");
    step("DistributedQueue order", () -> consumed);
    await(() -> {
      try {
        return c.getChildren().forPath(r + "/dq").isEmpty();
      } catch (Exception e) {
        return false;
      }
    }, "queue nodes removed");
    step("DistributedQueue left", () -> c.getChildren().forPath(r + "/dq").size());
    q.close();

    SimpleDistributedQueue sq = new SimpleDistributedQueue(c, r + "/sq");
    step("poll empty", () -> str(sq.poll()));
    sq.offer(bytes("first"));
    sq.offer(bytes("second"));
    step("peek", () -> str(sq.peek()));
    step("take", () -> str(sq.take()));
    step("poll", () -> str(sq.poll()));
    step("poll timed empty", () -> str(sq.poll(200, TimeUnit.MILLISECONDS)));
  }

  static void barriers(String r) throws Exception {
    CuratorFramework c = client(null);
    DistributedBarrier barrier = new DistributedBarrier(c, r + "/barrier");
    barrier.setBarrier();
    step("wait on set barrier", () -> barrier.waitOnBarrier(300, TimeUnit.MILLISECONDS));
    CountDownLatch passed = new CountDownLatch(1);
    Thread waiter = new Thread(() -> {
      try {
        if (new DistributedBarrier(c, r + "/barrier").waitOnBarrier(WAIT_MS, TimeUnit.MILLISECONDS)) passed.countDown();
      } catch (Exception e) {
        e.printStackTrace();
      }
    });
    waiter.start();
    barrier.removeBarrier();
    step("waiter passes once removed", () -> passed.await(WAIT_MS, TimeUnit.MILLISECONDS));
    waiter.join();

    List<Boolean> entered = new CopyOnWriteArrayList<>();
    List<Boolean> left = new CopyOnWriteArrayList<>();
    List<Thread> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      CuratorFramework mc = client(null);
      Thread t = new Thread(() -> {
        try {
          DistributedDoubleBarrier d = new DistributedDoubleBarrier(mc, r + "/double", 3);
          entered.add(d.enter(WAIT_MS, TimeUnit.MILLISECONDS));
          left.add(d.leave(WAIT_MS, TimeUnit.MILLISECONDS));
        } catch (Exception e) {
          e.printStackTrace();
        }
      });
      t.start();
      members.add(t);
    }
    for (Thread t : members) t.join();
    step("double barrier entered", () -> entered);
    step("double barrier left", () -> left);
    DistributedDoubleBarrier alone = new DistributedDoubleBarrier(c, r + "/double2", 2);
    step("double barrier short of members", () -> alone.enter(300, TimeUnit.MILLISECONDS));
  }

  static void counters(String r) throws Exception {
    CuratorFramework a = client(null);
    CuratorFramework b = client(null);
    SharedCount ca = new SharedCount(a, r + "/count", 5);
    SharedCount cb = new SharedCount(b, r + "/count", 99);
    ca.start();
    cb.start();
    step("seeded", () -> cb.getCount());
    VersionedValue<Integer> seen = cb.getVersionedValue();
    ca.setCount(7);
    step("trySetCount stale", () -> cb.trySetCount(seen, 8));
    await(() -> cb.getCount() == 7, "the shared count to reach B");
    step("B sees", () -> cb.getCount());
    step("trySetCount fresh", () -> cb.trySetCount(cb.getVersionedValue(), 9));
    await(() -> ca.getCount() == 9, "the shared count to reach A");
    step("A sees", () -> ca.getCount());
    ca.close();
    cb.close();

    List<Thread> threads = new ArrayList<>();
    List<Boolean> ok = new CopyOnWriteArrayList<>();
    for (CuratorFramework cf : List.of(a, b)) {
      Thread t = new Thread(() -> {
        DistributedAtomicLong n = new DistributedAtomicLong(cf, r + "/atomic", new RetryNTimes(1000, 1));
        for (int i = 0; i < 20; i++) {
          try {
            ok.add(n.increment().succeeded());
          } catch (Exception e) {
            e.printStackTrace();
          }
        }
      });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) t.join();
    step("increments succeeded", () -> ok.stream().filter(x -> x).count());
    step("atomic value", () -> {
      AtomicValue<Long> v = new DistributedAtomicLong(a, r + "/atomic", new RetryNTimes(3, 10)).get();
      return v.succeeded() + " " + v.postValue();
    });
    step("compareAndSet stale", () -> new DistributedAtomicLong(a, r + "/atomic", new RetryNTimes(3, 10)).compareAndSet(5L, 6L).succeeded());
  }

  static void nodes(String r) throws Exception {
    CuratorFramework c = client(null);
    CuratorFramework other = client(null);
    other.create().forPath(r);
    PersistentNode node = new PersistentNode(c, CreateMode.EPHEMERAL, false, r + "/me", bytes("here"));
    node.start();
    step("initial create", () -> node.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS));
    step("ephemeral owner is the session", () -> other.checkExists().forPath(r + "/me").getEphemeralOwner() == c.getZookeeperClient().getZooKeeper().getSessionId());
    other.delete().forPath(r + "/me");
    await(() -> {
      try {
        return other.checkExists().forPath(r + "/me") != null;
      } catch (Exception e) {
        return false;
      }
    }, "PersistentNode to recreate its node");
    step("recreated", () -> str(other.getData().forPath(r + "/me")));
    node.setData(bytes("changed"));
    await(() -> {
      try {
        return "changed".equals(str(other.getData().forPath(r + "/me")));
      } catch (Exception e) {
        return false;
      }
    }, "PersistentNode data to change");
    step("data changed", () -> str(other.getData().forPath(r + "/me")));
    node.close();
    step("gone after close", () -> stat(other.checkExists().forPath(r + "/me")));

    ServiceDiscovery<Void> discovery = ServiceDiscoveryBuilder.builder(Void.class).client(c).basePath(r + "/services").build();
    discovery.start();
    discovery.registerService(ServiceInstance.<Void>builder().name("api").id("one").address("10.0.0.1").port(8080).build());
    discovery.registerService(ServiceInstance.<Void>builder().name("api").id("two").address("10.0.0.2").port(8080).build());
    discovery.registerService(ServiceInstance.<Void>builder().name("web").id("w").address("10.0.0.3").port(80).build());
    step("service names", () -> {
      List<String> names = new ArrayList<>(discovery.queryForNames());
      Collections.sort(names);
      return names;
    });
    step("api instances", () -> {
      List<String> out = new ArrayList<>();
      for (ServiceInstance<Void> i : discovery.queryForInstances("api")) out.add(i.getId() + "@" + i.getAddress() + ":" + i.getPort());
      Collections.sort(out);
      return out;
    });
    step("instance registration is ephemeral", () -> other.checkExists().forPath(r + "/services/api/one").getEphemeralOwner() != 0);
    discovery.close();
    step("unregistered on close", () -> other.getChildren().forPath(r + "/services/api").size());
  }

  /**
   * Curator's ServiceDiscovery on instances another client registered under `base` (zabkeeper's
   * ServiceRegistry, in the test): prints them, registers one of its own, prints "ready" and keeps
   * it registered until a line arrives on stdin.
   */
  static void discovery(String base) throws Exception {
    CuratorFramework c = client(null);
    ServiceDiscovery<Void> d = ServiceDiscoveryBuilder.builder(Void.class).client(c).basePath(base).build();
    d.start();
    step("service names", () -> d.queryForNames());
    step("api instances", () -> {
      List<String> out = new ArrayList<>();
      for (ServiceInstance<Void> i : d.queryForInstances("api")) out.add(i.getName() + "/" + i.getId() + "@" + i.getAddress() + ":" + i.getPort() + " " + i.getServiceType());
      Collections.sort(out);
      return out;
    });
    d.registerService(ServiceInstance.<Void>builder().name("api").id("curator-1").address("10.0.0.9").port(7000).build());
    say("ready");
    new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    d.close();
  }

  /** Holds a lock and an ephemeral, waits for the test to kill the member serving it, checks both survived. */
  static void failover(String r) throws Exception {
    CuratorFramework c = client(null);
    List<String> states = new CopyOnWriteArrayList<>();
    c.getConnectionStateListenable().addListener((cf, s) -> states.add(s.toString()));
    InterProcessMutex m = new InterProcessMutex(c, r + "/lock");
    if (!m.acquire(WAIT_MS, TimeUnit.MILLISECONDS)) throw new IllegalStateException("lock not acquired");
    PersistentNode node = new PersistentNode(c, CreateMode.EPHEMERAL, false, r + "/eph", bytes("e"));
    node.start();
    if (!node.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS)) throw new IllegalStateException("ephemeral not created");
    long session = c.getZookeeperClient().getZooKeeper().getSessionId();
    say("session 0x" + Long.toHexString(session));
    say("ready");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    in.readLine();
    await(() -> states.contains("RECONNECTED"), "Curator to reconnect");
    step("states", () -> states);
    step("same session", () -> c.getZookeeperClient().getZooKeeper().getSessionId() == session);
    step("still holds the lock", () -> m.isAcquiredInThisProcess() && c.getChildren().forPath(r + "/lock").size() == 1);
    CuratorFramework other = client(null);
    step("another client cannot take it", () -> new InterProcessMutex(other, r + "/lock").acquire(500, TimeUnit.MILLISECONDS));
    step("ephemeral kept", () -> other.checkExists().forPath(r + "/eph").getEphemeralOwner() == session);
    step("writes go on", () -> name(c.create().forPath(r + "/after", bytes("a"))));
    m.release();
    node.close();
  }

  public static void main(String[] args) throws Exception {
    connectString = args[0];
    String root = args[1];
    int code = 0;
    try {
      for (int i = 2; i < args.length; i++) {
        String scenario = args[i];
        String r = root + "/" + scenario;
        say("## " + scenario);
        switch (scenario) {
          case "framework": framework(r); break;
          case "acl": acl(r); break;
          case "locks": locks(r); break;
          case "election": election(r); break;
          case "caches": caches(r); break;
          case "queues": queues(r); break;
          case "barriers": barriers(r); break;
          case "counters": counters(r); break;
          case "nodes": nodes(r); break;
          case "failover": failover(r); break;
          case "discovery": discovery(r); break;
          default: throw new IllegalArgumentException("unknown scenario " + scenario);
        }
      }
      say("## done");
    } catch (Exception e) {
      say("## failed: " + e);
      e.printStackTrace();
      code = 1;
    } finally {
      for (CuratorFramework c : opened) c.close();
    }
    System.out.flush();
    System.exit(code);
  }
}
