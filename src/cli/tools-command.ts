// `zabkeeper tools`: dump a txn log segment or a snapshot for humans (or as JSON lines), and verify a data dir.

import { basename } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { persistedEphemeralOwner, type DataTree, type SnapshotRecord, type ZNode } from '../tree/data-tree.js';
import type { TxnOp } from '../tree/txn.js';
import type { ACL } from '../jute/records.js';
import { errorName } from '../jute/error-codes.js';
import { CorruptLogError, CorruptSnapshotError, StorageError } from '../storage/errors.js';
import { nodeFs } from '../storage/fs-like.js';
import { SegmentReader, parseSegmentName } from '../storage/log-segment.js';
import { parseDeltaName, parseSnapshotName, readSnapshot } from '../storage/snapshot-file.js';
import { loadSnapshot } from '../storage/snapshot-chain.js';
import { verifyDataDir } from '../storage/verify.js';
import { javaDate } from './shell-format.js';
import { exportZooKeeperTool, importZooKeeperTool } from './zookeeper-interop-tools.js';
import { backupTool, restoreTool, verifySnapshotFileTool } from './backup-tools.js';
import { stat } from 'node:fs/promises';
import { UsageError } from './usage-error.js';

/** Where tool output goes; process.stdout by default, a collector in tests. */
export interface ToolOutput {
  write(text: string): unknown;
}

const EXIT_OK = 0;
const EXIT_UNSOUND = 1;
const EXIT_USAGE = 2;

function hexZxid(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Java's %#016x: 0x plus at least 14 hex digits, 64-bit two's complement for negatives. */
function hex16(n: number | bigint): string {
  return `0x${BigInt.asUintN(64, BigInt(n)).toString(16).padStart(14, '0')}`;
}

/** JSON with Buffers as base64 strings (the data of znodes and txns); the ensemble secret withheld. */
function toJsonLine(value: unknown): string {
  return `${JSON.stringify(value, (k, v: unknown) => {
    if (k === 'secret') return '<withheld>';
    if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('base64');
    }
    return v;
  })}\n`;
}

function aclText(acl: readonly ACL[]): string {
  return `[${acl.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`).join(',')}]`;
}

function dataText(data: Buffer | null): string {
  return data === null ? 'null' : `#${data.toString('hex')}`;
}

/** One op in the spirit of LogFormatter's "opname txn" text. */
export function describeOp(op: TxnOp): string {
  switch (op.type) {
    case 'create':
      return `create ${op.path} ${dataText(op.data)} ${aclText(op.acl)} ${op.kind}` +
        (op.ephemeralOwner ? ` owner=0x${op.ephemeralOwner.toString(16)}` : '') +
        (op.ttlMs ? ` ttl=${op.ttlMs}` : '') +
        ` parentCVersion=${op.parentCVersion}`;
    case 'delete':
      return `delete ${op.path}`;
    case 'setData':
      return `setData ${op.path} ${dataText(op.data)} version=${op.version}`;
    case 'setACL':
      return `setACL ${op.path} ${aclText(op.acl)} version=${op.version}`;
    case 'check':
      return `check ${op.path} version=${op.version}`;
    case 'createSession':
      return `createSession ${op.timeoutMs}`;
    case 'closeSession':
      return 'closeSession';
    case 'ensembleSecret':
      // Never printed: the secret is what makes session passwords unguessable.
      return `ensembleSecret <${op.secret.length} bytes withheld> legacySessions=${op.legacySessions.length}`;
    case 'error':
      return `error ${op.err} (${errorName(op.err)})`;
    case 'multi':
      return `multi [${op.ops.map(describeOp).join('; ')}]`;
  }
}

/** Prints every record of one segment. Exit 0 when intact (a torn tail is reported but tolerated). */
export async function logDump(file: string, opts: { json?: boolean }, out: ToolOutput): Promise<number> {
  const firstZxid = parseSegmentName(basename(file));
  if (firstZxid === undefined) {
    out.write(`${file}: not a txn log segment name (expected log.<zxid hex>)\n`);
    return EXIT_USAGE;
  }
  let reader: SegmentReader | undefined;
  try {
    reader = await SegmentReader.open(nodeFs, { name: basename(file), path: file, firstZxid }, { allowTornTail: true });
    if (!opts.json) {
      out.write(`zabkeeper txn log ${file}: format version ${reader.header?.version ?? '?'}, first zxid ${hexZxid(firstZxid)}\n`);
    }
    for (let rec = await reader.next(); rec !== null; rec = await reader.next()) {
      const { hdr, op } = rec.txn;
      if (opts.json) {
        out.write(toJsonLine({ offset: rec.offset, zxid: hexZxid(hdr.zxid), ...rec.txn }));
      } else {
        out.write(
          `${javaDate(hdr.time)} session 0x${hdr.sessionId.toString(16)} cxid 0x${(hdr.cxid >>> 0).toString(16)} zxid ${hexZxid(hdr.zxid)} ${describeOp(op)}\n`,
        );
      }
    }
    if (reader.torn) {
      const line = `torn tail at offset ${reader.torn.offset}: ${reader.torn.reason} (the server truncates it on startup)`;
      out.write(opts.json ? toJsonLine({ tornTail: reader.torn }) : `${line}\n`);
    }
    if (!opts.json) out.write(`EOF reached after ${reader.count} txns.\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CorruptLogError) {
      out.write(opts.json ? toJsonLine({ error: err.detail, file: err.file, offset: err.offset }) : `${err.detail}\n`);
      return EXIT_UNSOUND;
    }
    throw err;
  } finally {
    await reader?.close();
  }
}

/** Prints a snapshot like ZooKeeper's SnapshotFormatter, or its raw records as JSON lines. */
export async function snapshotDump(file: string, opts: { json?: boolean; data?: boolean }, out: ToolOutput): Promise<number> {
  try {
    if (opts.json) {
      const summary = await readSnapshot(nodeFs, file, (records) => {
        for (const r of records) out.write(toJsonLine(r));
      });
      const end = summary.end && { zxid: hexZxid(summary.end.zxid), digest: String(summary.end.digest) };
      out.write(toJsonLine({ summary: { ...summary, zxid: hexZxid(summary.zxid), end } }));
      return EXIT_OK;
    }
    if (parseDeltaName(basename(file)) !== undefined) {
      await printDelta(file, Boolean(opts.data), out);
      return EXIT_OK;
    }
    const tree = await loadSnapshot(nodeFs, file);
    printTree(tree, parseSnapshotName(basename(file)) ?? tree.lastProcessedZxid, Boolean(opts.data), out);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CorruptSnapshotError) {
      out.write(opts.json ? toJsonLine({ error: err.detail, file: err.file, offset: err.offset }) : `${err.detail}\n`);
      return EXIT_UNSOUND;
    }
    throw err;
  }
}

/** One znode as SnapshotFormatter prints it. */
function nodeBlock(
  path: string,
  n: Pick<ZNode, 'czxid' | 'ctime' | 'mzxid' | 'mtime' | 'pzxid' | 'cversion' | 'version' | 'aversion' | 'kind' | 'ephemeralOwner' | 'ttlMs' | 'data'>,
  withData: boolean,
): string {
  return (
    `----\n${path}\n` +
    `  cZxid = ${hex16(n.czxid)}\n  ctime = ${javaDate(n.ctime)}\n` +
    `  mZxid = ${hex16(n.mzxid)}\n  mtime = ${javaDate(n.mtime)}\n` +
    `  pZxid = ${hex16(n.pzxid)}\n  cversion = ${n.cversion}\n` +
    `  dataVersion = ${n.version}\n  aclVersion = ${n.aversion}\n` +
    `  ephemeralOwner = ${hex16(persistedEphemeralOwner(n))}\n` +
    (withData ? `  data = ${n.data?.toString('base64') ?? ''}\n` : `  dataLength = ${n.data?.length ?? 0}\n`)
  );
}

/**
 * A delta snapshot has no tree of its own: what it extends, the paths deleted since, the
 * znodes changed since (as SnapshotFormatter prints znodes) and the sessions.
 */
async function printDelta(file: string, withData: boolean, out: ToolOutput): Promise<void> {
  const records: SnapshotRecord[] = [];
  const summary = await readSnapshot(nodeFs, file, (chunk) => {
    for (const r of chunk) records.push(r);
  });
  const base = records.find((r) => r.t === 'deltaBase');
  const deleted = records.filter((r) => r.t === 'tombstone');
  const nodes = records.filter((r) => r.t === 'node');
  const sessions = records.filter((r) => r.t === 'session');
  out.write(`Delta snapshot at ${hexZxid(summary.zxid)} of the snapshot at ${base === undefined ? '?' : hexZxid(base.zxid)}\n`);
  out.write(`Deleted since (count=${deleted.length}):\n`);
  for (const r of deleted) out.write(`${r.path}\n`);
  out.write(`ZNode Details (changed=${nodes.length}):\n`);
  for (const r of nodes) out.write(nodeBlock(r.path, r, withData));
  out.write('----\nSession Details (sid, timeout):\n');
  for (const r of sessions.sort((a, b) => a.id - b.id)) out.write(`${hex16(r.id)}, ${r.timeoutMs}\n`);
  if (summary.end !== undefined) out.write(`Target zxid digest is: ${summary.end.zxid.toString(16)}, ${summary.end.digest}\n`);
  out.write(`----\nLast zxid: ${hexZxid(summary.zxid)}\n`);
}

function printTree(tree: DataTree, fileZxid: number, withData: boolean, out: ToolOutput): void {
  out.write(`ZNode Details (count=${tree.nodeCount}):\n`);
  let maxZxid = 0;
  const stack = ['/'];
  while (stack.length > 0) {
    const path = stack.pop()!;
    const node = tree.getNode(path);
    if (node === undefined) continue;
    const stat = tree.statOf(node);
    maxZxid = Math.max(maxZxid, stat.mzxid, stat.pzxid);
    out.write(nodeBlock(path, { ...stat, kind: node.kind, ephemeralOwner: node.ephemeralOwner, ttlMs: node.ttlMs, data: node.data }, withData));
    const children = tree.getChildren(path) ?? [];
    for (let i = children.length - 1; i >= 0; i--) stack.push(path === '/' ? `/${children[i]}` : `${path}/${children[i]}`);
  }
  out.write('----\nSession Details (sid, timeout, ephemeralCount):\n');
  for (const [sid, timeoutMs] of [...tree.sessions].sort((a, b) => a[0] - b[0])) {
    out.write(`${hex16(sid)}, ${timeoutMs}, ${tree.getEphemerals(sid).length}\n`);
  }
  // Where the walk ended and the digest due there, as ZooKeeper prints its snapshot's (zxid in bare hex, as it does).
  if (tree.fuzzyEndDigest !== undefined) out.write(`Target zxid digest is: ${tree.fuzzyUntil.toString(16)}, ${tree.fuzzyEndDigest}\n`);
  out.write(`----\nLast zxid: ${hexZxid(Math.max(fileZxid, maxZxid))}\n`);
}

/** Checks every checksum and zxid continuity. Exit 0 when sound, 1 when not. */
export async function verify(dataDir: string, opts: { logDir?: string; json?: boolean }, out: ToolOutput): Promise<number> {
  let report;
  try {
    report = await verifyDataDir(dataDir, { dataLogDir: opts.logDir });
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    report = { ok: false, problems: [err.detail], warnings: [], notes: [] };
  }
  if (opts.json) {
    out.write(toJsonLine(report));
  } else {
    for (const note of report.notes) out.write(`${note}\n`);
    for (const w of report.warnings) out.write(`warning: ${w}\n`);
    for (const p of report.problems) out.write(`problem: ${p}\n`);
    out.write(report.ok ? `${dataDir}: sound\n` : `${dataDir}: NOT sound (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'})\n`);
  }
  return report.ok ? EXIT_OK : EXIT_UNSOUND;
}

interface ToolsArgs {
  file?: string;
  dataDir?: string;
  logDir?: string;
  json?: boolean;
  data?: boolean;
}

/** Every tool `zabkeeper tools` has, for its usage errors. */
const TOOL_NAMES = 'log-dump, snapshot-dump, verify, import-zookeeper, export-zookeeper, backup, restore';

/**
 * The yargs module for `zabkeeper tools <tool>` (TOOL_NAMES). `onExitCode` receives
 * the tool's exit code (main.ts owns the process exit).
 */
export function createToolsCommand(onExitCode: (code: number) => void, out: ToolOutput = process.stdout): CommandModule<object, ToolsArgs> {
  return {
    command: 'tools [cmd]',
    describe: 'inspect storage: log-dump FILE, snapshot-dump FILE, verify DATADIR|FILE; import-zookeeper, export-zookeeper, backup, restore',
    builder: (y: Argv<object>) =>
      y
        .command(
          'log-dump <file>',
          'print the txns of one txn log segment (log.<zxid>)',
          (c) => c.positional('file', { type: 'string', demandOption: true }).option('json', { type: 'boolean', describe: 'one JSON object per line (data as base64)' }),
          async (a) => onExitCode(await logDump(a.file, { json: a.json }, out)),
        )
        .command(
          'snapshot-dump <file>',
          'print the znodes and sessions of a snapshot (snapshot.<zxid>)',
          (c) =>
            c
              .positional('file', { type: 'string', demandOption: true })
              .option('json', { type: 'boolean', describe: 'the raw snapshot records, one JSON object per line' })
              .option('data', { alias: 'd', type: 'boolean', describe: 'print each znode\'s data (base64)' }),
          async (a) => onExitCode(await snapshotDump(a.file, { json: a.json, data: a.data }, out)),
        )
        .command(
          'verify <data-dir>',
          'check every checksum and zxid continuity of a data dir, or one backup file; exit 0 if sound, 1 if not',
          (c) =>
            c
              .positional('data-dir', { type: 'string', demandOption: true })
              .option('log-dir', { type: 'string', describe: 'dataLogDir, when the txn log is kept apart' })
              .option('json', { type: 'boolean', describe: 'the report as one JSON object' }),
          async (a) => {
            // A single file is a backup (or snapshot) to check on its own.
            const isFile = await stat(a.dataDir).then((st) => st.isFile(), () => false);
            onExitCode(isFile ? await verifySnapshotFileTool(a.dataDir, out) : await verify(a.dataDir, { logDir: a.logDir, json: a.json }, out));
          },
        )
        .command(
          'import-zookeeper',
          'make a zabkeeper data dir from an Apache ZooKeeper dataDir (newest snapshot + logs replayed)',
          (c) =>
            c
              .option('zk-data-dir', { type: 'string', demandOption: true, describe: "ZooKeeper's dataDir (or its version-2/ folder)" })
              .option('zk-log-dir', { type: 'string', describe: "ZooKeeper's dataLogDir, when its logs are kept apart" })
              .option('data-dir', { type: 'string', demandOption: true, describe: 'the zabkeeper data dir to create (missing or empty)' })
              .option('skip-corrupt-tail', { type: 'boolean', describe: 'drop a damaged last log record or an unfinished newest snapshot, as ZooKeeper does' })
              .option('skip-digest-check', { type: 'boolean', describe: "import even if the replayed tree's digest differs from the one ZooKeeper wrote" })
              .option('emulate-353-ttl-nodes', {
                type: 'boolean',
                describe: 'read TTL nodes ZooKeeper 3.5.3 wrote, as ZooKeeper does with -Dzookeeper.emulate353TTLNodes=true (every negative ephemeralOwner but a container\'s is a TTL node)',
              })
              .option('json', { type: 'boolean', describe: 'no progress lines; the report as one JSON object' }),
          async (a) =>
            onExitCode(
              await importZooKeeperTool(
                {
                  zkDataDir: a.zkDataDir,
                  zkLogDir: a.zkLogDir,
                  dataDir: a.dataDir,
                  skipCorruptTail: a.skipCorruptTail,
                  skipDigestCheck: a.skipDigestCheck,
                  emulate353TtlNodes: a.emulate353TtlNodes,
                  json: a.json,
                },
                out,
              ),
            ),
        )
        .command(
          'export-zookeeper',
          'write an Apache ZooKeeper dataDir (version-2/snapshot.<zxid>, epoch files) from a stopped server\'s data dir',
          (c) =>
            c
              .option('data-dir', { type: 'string', demandOption: true, describe: 'the zabkeeper data dir' })
              .option('log-dir', { type: 'string', describe: 'dataLogDir, when the txn log is kept apart' })
              .option('out', { type: 'string', demandOption: true, describe: "ZooKeeper's dataDir to create (missing or empty)" })
              .option('json', { type: 'boolean', describe: 'the report as one JSON object' }),
          async (a) => onExitCode(await exportZooKeeperTool({ dataDir: a.dataDir, logDir: a.logDir, out: a.out, json: a.json }, out)),
        )
        .command(
          'backup',
          "save a live server's consistent snapshot, taken over its admin HTTP port, to a file",
          (c) =>
            c
              .option('server', { type: 'string', demandOption: true, describe: 'host:port of the admin server (admin.serverPort)' })
              .option('out', { type: 'string', demandOption: true, describe: 'the backup file to create' }),
          async (a) => onExitCode(await backupTool({ server: a.server, out: a.out }, out)),
        )
        .command(
          'restore',
          'make a data dir from a backup file',
          (c) =>
            c
              .option('from', { type: 'string', demandOption: true, describe: 'a file written by tools backup' })
              .option('data-dir', { type: 'string', demandOption: true, describe: 'the data dir to create (missing or empty)' }),
          async (a) => onExitCode(await restoreTool({ from: a.from, dataDir: a.dataDir }, out)),
        ) as unknown as Argv<ToolsArgs>,
    // Runs only when [cmd] named no tool, or one that does not exist.
    handler: (a) => {
      const cmd = (a as { cmd?: unknown }).cmd;
      throw new UsageError(cmd === undefined ? `name a tool: ${TOOL_NAMES}` : `unknown tool "${String(cmd)}": use one of ${TOOL_NAMES}`);
    },
  };
}
