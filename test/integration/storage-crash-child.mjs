// Child for storage-crash.test.ts: appends txns through DurableStore from several concurrent writers
// and prints "ack <zxid>" once each is durable, until it is killed -9.

import { pino } from 'pino';

const distDir = process.env.ZABKEEPER_DIST ?? new URL('../../dist/', import.meta.url).pathname;
const { DurableStore } = await import(`${distDir.replace(/\/$/, '')}/storage/index.js`);

const [dataDir, writersArg] = process.argv.slice(2);
const writers = Number(writersArg ?? 8);
const store = await DurableStore.open({
  dataDir,
  logger: pino({ level: 'warn' }, pino.destination(2)),
  snapCount: 400,
  segmentSizeBytes: 64 * 1024,
});
const { tree, lastZxid } = await store.recover();
let next = lastZxid;
const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
let pending = '';

function flushAcks() {
  if (pending) {
    process.stdout.write(pending);
    pending = '';
  }
}

async function writer() {
  for (;;) {
    const zxid = ++next;
    const txn = {
      hdr: { sessionId: 0, cxid: zxid, zxid, time: Date.now() },
      op: { type: 'create', path: `/n${zxid}`, data: Buffer.alloc(64, zxid & 0xff), acl, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, parentCVersion: zxid },
    };
    await store.append(txn);
    // Appends resolve in zxid order, so applying here keeps the tree in order too.
    tree.apply(txn);
    store.applied(tree, zxid);
    pending += `ack ${zxid}\n`;
    if (pending.length > 2048) flushAcks();
  }
}

setInterval(flushAcks, 1).unref();
process.stdout.write(`ready ${lastZxid}\n`);
await Promise.all(Array.from({ length: writers }, writer));
