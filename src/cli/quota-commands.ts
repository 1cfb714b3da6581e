// The zkCli quota verbs (setquota, listquota, delquota): the same znodes under /zookeeper/quota,
// the same StatsTrack text and the same wording as ZooKeeper 3.8's SetQuotaCommand & co.

import type { ZooKeeperClient } from '../client/index.js';
import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import { validatePath } from '../tree/path.js';
import { BYTE_HARD_LIMIT, BYTES, COUNT, COUNT_HARD_LIMIT, LIMIT_NODE, limitPath, QUOTA_ROOT, quotaPath, STAT_NODE, statPath, StatsTrack } from '../tree/quota.js';
import { parseFlags, UsageError, type ShellIO, type Verb } from './shell-commands.js';

/** A verb that could not do what was asked; the message is zkCli's and is printed as it is. */
export class QuotaCommandError extends Error {}

const OPTIONS = [
  { flag: 'n', key: COUNT, describe: 'num soft quota' },
  { flag: 'b', key: BYTES, describe: 'bytes soft quota' },
  { flag: 'N', key: COUNT_HARD_LIMIT, describe: 'num hard quota' },
  { flag: 'B', key: BYTE_HARD_LIMIT, describe: 'bytes hard quota' },
] as const;
type Option = (typeof OPTIONS)[number];

/** commons-cli's OptionGroup: at most one of -n -b -N -B. */
function pickOne(flags: Map<string, string | true>, required: boolean): Option | undefined {
  const given = [...flags.keys()].map((f) => OPTIONS.find((o) => o.flag === f));
  const unknown = [...flags.keys()].find((f) => !OPTIONS.some((o) => o.flag === f));
  if (unknown !== undefined) throw new QuotaCommandError(`org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -${unknown}`);
  if (given.length > 1) {
    throw new QuotaCommandError(
      `org.apache.commons.cli.AlreadySelectedException: The option '${given[1]!.flag}' was specified but an option from this group has already been selected: '${given[0]!.flag}'`,
    );
  }
  if (given.length === 0 && required) {
    const all = OPTIONS.map((o) => `-${o.flag} ${o.describe}`).join(', ');
    throw new QuotaCommandError(`org.apache.commons.cli.MissingOptionException: Missing required option: [${all}]`);
  }
  return given[0];
}

/**
 * zkCli prints the rule a malformed path breaks ("Path must start with / character") when the
 * client library refuses a path; whichever call meets the bad path first decides the message,
 * as in zkCli (listquota reports the limits path it built, not the one typed).
 */
async function withPathRules(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (e instanceof ZooKeeperError && e.code === ErrorCode.BADARGUMENTS && e.detail !== undefined) throw new QuotaCommandError(javaPathRule(e.path) ?? e.detail);
    throw e;
  }
}

/** PathUtils.validatePath's exact message for a path (the server-side rules are worded as Java words them). */
function javaPathRule(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    validatePath(path);
    return undefined;
  } catch (e) {
    return e instanceof ZooKeeperError ? e.detail : undefined;
  }
}

/** Java's Integer.parseInt / Long.parseLong accept an optional sign and decimal digits only. */
function parseJavaInteger(text: string, bits: 32 | 64): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = BigInt(text);
  const max = bits === 32 ? 2n ** 31n : 2n ** 63n;
  if (n < -max || n >= max) return undefined;
  return Number(n);
}

/**
 * SetQuotaCommand.createQuota: the path must exist and no ancestor or descendant may have a
 * quota; the /zookeeper/quota/<path> chain, then zookeeper_limits and zookeeper_stats are
 * created (the server fills the stats in), or the existing limits are updated.
 */
export async function setQuota(zk: ZooKeeperClient, path: string, option: Option, value: number, io: ShellIO): Promise<void> {
  if ((await zk.exists(path)) === null) throw new QuotaCommandError(`${path} does not exist.`);
  await checkNoChildQuota(zk, path);
  await checkNoParentQuota(zk, path);
  let q = QUOTA_ROOT;
  for (const part of path.split('/').slice(1)) {
    q += `/${part}`;
    if ((await zk.exists(q)) === null) await createIgnoringExists(zk, q, null);
  }
  const limits = `${q}/${LIMIT_NODE}`;
  const stats = `${q}/${STAT_NODE}`;
  if ((await zk.exists(limits)) === null) {
    const quota = new StatsTrack().set(COUNT, -1).set(BYTES, -1).set(COUNT_HARD_LIMIT, -1).set(BYTE_HARD_LIMIT, -1).set(option.key, value);
    await zk.create(limits, quota.toBuffer());
    await zk.create(stats, new StatsTrack().set(COUNT, 0).set(BYTES, 0).toBuffer());
    warnBelowUsage(StatsTrack.parse((await zk.getData(limits)).data), StatsTrack.parse((await zk.getData(stats)).data), io);
  } else {
    const quota = StatsTrack.parse((await zk.getData(limits)).data).set(option.key, value);
    warnBelowUsage(quota, StatsTrack.parse((await zk.getData(stats)).data), io);
    await zk.setData(limits, quota.toBuffer(), -1);
  }
}

async function createIgnoringExists(zk: ZooKeeperClient, path: string, data: Buffer | null): Promise<void> {
  try {
    await zk.create(path, data);
  } catch (e) {
    if (!(e instanceof ZooKeeperError && e.code === ErrorCode.NODEEXISTS)) throw e;
  }
}

function warnBelowUsage(quota: StatsTrack, stats: StatsTrack, io: ShellIO): void {
  if ((quota.count > -1 && quota.count < stats.count) || (quota.countHardLimit > -1 && quota.countHardLimit < stats.count)) {
    io.out(`[Warning]: the count quota you create is less than the existing count:${stats.count}`);
  }
  if ((quota.bytes > -1 && quota.bytes < stats.bytes) || (quota.byteHardLimit > -1 && quota.byteHardLimit < stats.bytes)) {
    io.out(`[Warning]: the bytes quota you create is less than the existing bytes:${stats.bytes}`);
  }
}

/** No node below /zookeeper/quota/<path> (other than its own) may hold a limits node. */
async function checkNoChildQuota(zk: ZooKeeperClient, path: string): Promise<void> {
  const own = quotaPath(path);
  const visit = async (q: string): Promise<void> => {
    let children: string[];
    try {
      children = await zk.getChildren(q);
    } catch (e) {
      if (e instanceof ZooKeeperError && e.code === ErrorCode.NONODE) return;
      throw e;
    }
    if (q !== own && children.includes(LIMIT_NODE)) {
      throw new QuotaCommandError(`${path} has a child ${q.substring(QUOTA_ROOT.length)} which has a quota`);
    }
    for (const c of children) await visit(`${q}/${c}`);
  };
  await visit(own);
}

/** No ancestor of `path` may have a quota. */
async function checkNoParentQuota(zk: ZooKeeperClient, path: string): Promise<void> {
  const parts = path.split('/');
  let q = QUOTA_ROOT;
  for (let i = 1; i < parts.length - 1; i++) {
    q += `/${parts[i]}`;
    let children: string[];
    try {
      children = await zk.getChildren(q);
    } catch (e) {
      if (e instanceof ZooKeeperError && e.code === ErrorCode.NONODE) return;
      throw e;
    }
    if (children.length === 0) return;
    if (children.includes(LIMIT_NODE)) throw new QuotaCommandError(`${path} has a parent ${q.substring(QUOTA_ROOT.length)} which has a quota`);
  }
}

/** ListQuotaCommand.listQuota: the limits, then the stats, each re-read as StatsTrack. */
export async function listQuota(zk: ZooKeeperClient, path: string): Promise<{ limits: StatsTrack; stats: StatsTrack }> {
  const limits = StatsTrack.parse((await zk.getData(limitPath(path))).data);
  const stats = StatsTrack.parse((await zk.getData(statPath(path))).data);
  return { limits, stats };
}

/**
 * DelQuotaCommand.delQuota: without an option the quota goes (its nodes, then the empty
 * /zookeeper/quota chain above them); with one, that limit is reset to -1.
 */
export async function delQuota(zk: ZooKeeperClient, path: string, option: Option | undefined, io: ShellIO): Promise<void> {
  const limits = limitPath(path);
  if ((await zk.exists(limits)) === null) {
    io.out(`Quota does not exist for ${path}`);
    return;
  }
  const quota = StatsTrack.parse((await zk.getData(limits)).data);
  if (option === undefined) {
    const parent = quotaPath(path);
    for (const child of await zk.getChildren(parent)) await zk.delete(`${parent}/${child}`, -1);
    let p = parent;
    while (p !== QUOTA_ROOT && (await zk.getChildren(p)).length === 0) {
      await zk.delete(p, -1);
      p = p.substring(0, p.lastIndexOf('/'));
    }
    return;
  }
  await zk.setData(limits, quota.set(option.key, -1).toBuffer(), -1);
}

export const QUOTA_VERBS: Record<string, Verb> = {
  setquota: {
    usage: 'setquota -n|-b|-N|-B val path',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, ['n', 'b', 'N', 'B']);
      const option = pickOne(flags, true)!;
      if (rest.length < 1) throw new UsageError(this.usage);
      const path = rest[0]!;
      if (path.startsWith(QUOTA_ROOT)) throw new QuotaCommandError(`cannot set a quota under the path: ${QUOTA_ROOT}`);
      const isCount = option.key === COUNT || option.key === COUNT_HARD_LIMIT;
      const value = parseJavaInteger(String(flags.get(option.flag)), isCount ? 32 : 64);
      if (value === undefined) throw new QuotaCommandError('NumberFormatException happens when parsing the option value');
      if (isCount && value <= 0) throw new QuotaCommandError('the num quota must be greater than zero');
      if (!isCount && value < 0) throw new QuotaCommandError('the bytes quota must be greater than or equal to zero');
      await withPathRules(() => setQuota(zk, path, option, value, io));
    },
  },
  listquota: {
    usage: 'listquota path',
    async run(zk, args, io) {
      if (args.length < 1) throw new UsageError(this.usage);
      const path = args[0]!;
      io.err(`absolute path is ${limitPath(path)}`);
      await withPathRules(async () => {
        let listed: { limits: StatsTrack; stats: StatsTrack };
        try {
          listed = await listQuota(zk, path);
        } catch (e) {
          if (e instanceof ZooKeeperError && e.code === ErrorCode.NONODE) throw new QuotaCommandError(`quota for ${path} does not exist.`);
          throw e;
        }
        io.out(`Output quota for ${path} ${listed.limits.toString()}`);
        io.out(`Output stat for ${path} ${listed.stats.toString()}`);
      });
    },
  },
  delquota: {
    usage: 'delquota [-n|-b|-N|-B] path',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, []);
      const option = pickOne(flags, false);
      if (rest.length < 1) throw new UsageError(this.usage);
      await withPathRules(async () => {
        try {
          await delQuota(zk, rest[0]!, option, io);
        } catch (e) {
          if (e instanceof ZooKeeperError && e.code === ErrorCode.NONODE) throw new QuotaCommandError(`quota for ${rest[0]!} does not exist.`);
          throw e;
        }
      });
    },
  },
};
