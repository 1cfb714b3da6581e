// `zabkeeper tools import-zookeeper` / `export-zookeeper`: move a data dir between Apache ZooKeeper and zabkeeper.

import { StorageError } from '../storage/errors.js';
import { exportZooKeeper } from '../interop/zookeeper/zk-export.js';
import { importZooKeeper, type ImportReport } from '../interop/zookeeper/zk-import.js';
import type { ToolOutput } from './tools-command.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;

/** Failures the tool reports in one line: ours (with file and offset) and the file system's (ENOENT, EACCES, ENOSPC...). */
function reportable(err: unknown): string | undefined {
  if (err instanceof StorageError) return err.detail;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? (err as Error).message : undefined;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function summary(r: ImportReport, outDir: string): string {
  const secs = r.durationMs / 1000;
  const lines = [
    `imported into ${outDir} (${r.output})`,
    `  from: ${r.snapshot ?? 'no snapshot'} (zxid ${hex(r.snapshotZxid)}) + ${r.logs.length} log file(s), ${r.txnsReplayed} txns replayed`,
    `  znodes: ${r.znodes}, sessions: ${r.sessions} (${r.ephemerals} ephemerals), last zxid: ${hex(r.lastZxid)}, epoch: ${r.epoch}`,
  ];
  lines.push(
    r.digests.note === undefined
      ? `  ZooKeeper's digests: ${r.digests.checked} compared with the imported tree's, all agree`
      : `  ZooKeeper's digests: not compared (${r.digests.note})`,
  );
  for (const s of r.remappedSessions) {
    lines.push(`  session ${s.zookeeper} is now ${s.zabkeeper} (its id does not fit below 2^53; its clients resume it with their ZooKeeper id and password and get the new id)`);
  }
  lines.push(
    `  read ${(r.bytesRead / 1048576).toFixed(1)} MB in ${secs.toFixed(2)} s (${Math.round(r.txnsReplayed / Math.max(secs, 1e-3))} txns/s, ` +
      `${(r.bytesRead / 1048576 / Math.max(secs, 1e-3)).toFixed(1)} MB/s)`,
  );
  if (r.warnings.length > 0) lines.push(`  ${r.warnings.length} warning(s) above`);
  return `${lines.join('\n')}\n`;
}

export interface ImportToolArgs {
  zkDataDir: string;
  zkLogDir?: string;
  dataDir: string;
  skipCorruptTail?: boolean;
  skipDigestCheck?: boolean;
  emulate353TtlNodes?: boolean;
  json?: boolean;
}

/** Exit 0 on success, 1 when the input is unreadable or the output not empty (the message says which file and offset). */
export async function importZooKeeperTool(a: ImportToolArgs, out: ToolOutput): Promise<number> {
  try {
    const report = await importZooKeeper({
      zkDataDir: a.zkDataDir,
      zkLogDir: a.zkLogDir,
      outDir: a.dataDir,
      skipCorruptTail: a.skipCorruptTail,
      skipDigestCheck: a.skipDigestCheck,
      emulate353TtlNodes: a.emulate353TtlNodes,
      onLine: a.json ? undefined : (line) => out.write(`${line}\n`),
    });
    out.write(a.json ? `${JSON.stringify(report)}\n` : summary(report, a.dataDir));
    return EXIT_OK;
  } catch (err) {
    const detail = reportable(err);
    if (detail === undefined) throw err;
    out.write(a.json ? `${JSON.stringify({ error: detail })}\n` : `import failed: ${detail}\n`);
    return EXIT_FAILED;
  }
}

export interface ExportToolArgs {
  dataDir: string;
  logDir?: string;
  out: string;
  json?: boolean;
}

/** Exit 0 on success, 1 when the data dir is unreadable or the output not empty. */
export async function exportZooKeeperTool(a: ExportToolArgs, out: ToolOutput): Promise<number> {
  try {
    const r = await exportZooKeeper({ dataDir: a.dataDir, dataLogDir: a.logDir, outDir: a.out, onLine: a.json ? undefined : (line) => out.write(`${line}\n`) });
    out.write(
      a.json
        ? `${JSON.stringify(r)}\n`
        : `exported to ${r.snapshot} (${(r.sizeBytes / 1048576).toFixed(1)} MB)\n` +
            `  znodes: ${r.znodes}, sessions: ${r.sessions}, zxid: ${hex(r.zxid)}, epoch: ${r.epoch}\n` +
            `  start ZooKeeper with dataDir=${a.out}\n`,
    );
    return EXIT_OK;
  } catch (err) {
    const detail = reportable(err);
    if (detail === undefined) throw err;
    out.write(a.json ? `${JSON.stringify({ error: detail })}\n` : `export failed: ${detail}\n`);
    return EXIT_FAILED;
  }
}
