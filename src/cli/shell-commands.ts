// The zkCli verbs: each parses its own flags and runs against a connected client.

import type { PersistentWatchMode, WatchEvent, ZooKeeperClient } from '../client/index.js';
import { ErrorCode, ZooKeeperError } from '../jute/error-codes.js';
import { formatAcl, formatStat, formatWatchEvent, parseAcl } from './shell-format.js';

export interface ShellIO {
  out(line: string): void;
  err(line: string): void;
}

export class UsageError extends Error {}

/** Splits a verb's arguments into flags (-s, -v 3) and positionals, as zkCli's getopt does. */
export function parseFlags(args: readonly string[], withValue: readonly string[]): { flags: Map<string, string | true>; rest: string[] } {
  const flags = new Map<string, string | true>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.length > 1 && a.startsWith('-') && rest.length === 0 && !/^-\d/.test(a)) {
      const name = a.slice(1);
      if (withValue.includes(name)) {
        const v = args[++i];
        if (v === undefined) throw new UsageError(`option -${name} needs a value`);
        flags.set(name, v);
      } else {
        for (const ch of name) flags.set(ch, true);
      }
    } else {
      rest.push(a);
    }
  }
  return { flags, rest };
}

function need(rest: string[], n: number, usage: string): void {
  if (rest.length < n) throw new UsageError(usage);
}

/** zkCli's wording for the errors people grep for. */
export function describeError(e: unknown, path: string | undefined): string {
  if (e instanceof ZooKeeperError) {
    const p = e.path ?? path ?? '';
    switch (e.code) {
      case ErrorCode.NONODE:
        return `Node does not exist: ${p}`;
      case ErrorCode.NODEEXISTS:
        return `Node already exists: ${p}`;
      case ErrorCode.NOTEMPTY:
        return `Node not empty: ${p}`;
      case ErrorCode.BADVERSION:
        return `version No is not valid : ${p}`;
      case ErrorCode.NOAUTH:
        return `Insufficient permission : ${p}`;
      case ErrorCode.NOCHILDRENFOREPHEMERALS:
        return `Ephemerals cannot have children: ${p}`;
      case ErrorCode.INVALIDACL:
        return `Acl is not valid : ${p}`;
      case ErrorCode.NOTREADONLY:
        return `Not a read-only call: ${p}`;
      case ErrorCode.QUOTAEXCEEDED:
        return `Quota has exceeded : ${p}`;
      case ErrorCode.RECONFIGINPROGRESS:
        return 'Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)';
      default:
        return e.message;
    }
  }
  return e instanceof Error ? e.message : String(e);
}

export interface Verb {
  usage: string;
  run(zk: ZooKeeperClient, args: string[], io: ShellIO): Promise<void>;
}

const printEvent = (io: ShellIO) => (ev: WatchEvent) => io.out(formatWatchEvent(ev));

async function listRecursive(zk: ZooKeeperClient, path: string, io: ShellIO): Promise<void> {
  io.out(path);
  const children = await zk.getChildren(path);
  for (const c of children.sort()) await listRecursive(zk, path === '/' ? `/${c}` : `${path}/${c}`, io);
}

async function deleteAll(zk: ZooKeeperClient, path: string): Promise<void> {
  const children = await zk.getChildren(path);
  for (const c of children) await deleteAll(zk, path === '/' ? `/${c}` : `${path}/${c}`);
  if (path !== '/') await zk.delete(path, -1);
}

export const VERBS: Record<string, Verb> = {
  ls: {
    usage: 'ls [-s] [-w] [-R] path',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, []);
      need(rest, 1, this.usage);
      const path = rest[0]!;
      if (flags.has('R')) return listRecursive(zk, path, io);
      const watch = flags.has('w') ? printEvent(io) : undefined;
      if (flags.has('s')) {
        const { children, stat } = await zk.getChildren2(path, watch);
        io.out(`[${children.sort().join(', ')}]`);
        io.out(formatStat(stat));
      } else {
        const children = await zk.getChildren(path, watch);
        io.out(`[${children.sort().join(', ')}]`);
      }
    },
  },
  get: {
    usage: 'get [-s] [-w] path',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, []);
      need(rest, 1, this.usage);
      const { data, stat } = await zk.getData(rest[0]!, flags.has('w') ? printEvent(io) : undefined);
      io.out(data === null ? 'null' : data.toString('utf8'));
      if (flags.has('s')) io.out(formatStat(stat));
    },
  },
  set: {
    usage: 'set [-s] [-v version] path data',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, ['v']);
      need(rest, 2, this.usage);
      const version = flags.has('v') ? Number(flags.get('v')) : -1;
      const stat = await zk.setData(rest[0]!, Buffer.from(rest[1]!), version);
      if (flags.has('s')) io.out(formatStat(stat));
    },
  },
  create: {
    usage: 'create [-s] [-e] [-c] [-t ttl] path [data] [acl]',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, ['t']);
      need(rest, 1, this.usage);
      const seq = flags.has('s');
      const ttl = flags.has('t') ? Number(flags.get('t')) : undefined;
      let mode: 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential' | 'container' | 'persistent_with_ttl' | 'persistent_sequential_with_ttl' = seq ? 'persistent_sequential' : 'persistent';
      if (flags.has('e')) {
        if (flags.has('c') || ttl !== undefined) throw new UsageError('-e cannot be combined with -c or -t');
        mode = seq ? 'ephemeral_sequential' : 'ephemeral';
      } else if (flags.has('c')) {
        if (seq || ttl !== undefined) throw new UsageError('-c cannot be combined with -s or -t');
        mode = 'container';
      } else if (ttl !== undefined) {
        if (!Number.isFinite(ttl)) throw new UsageError('-t needs a number of milliseconds');
        mode = seq ? 'persistent_sequential_with_ttl' : 'persistent_with_ttl';
      }
      const data = rest[1] === undefined ? undefined : Buffer.from(rest[1]);
      const acl = rest[2] === undefined ? undefined : parseAcl(rest[2]);
      const created = await zk.create(rest[0]!, data, { mode, ttlMs: ttl, acl });
      io.err(`Created ${created}`);
    },
  },
  delete: {
    usage: 'delete [-v version] path',
    async run(zk, args) {
      const { flags, rest } = parseFlags(args, ['v']);
      need(rest, 1, this.usage);
      await zk.delete(rest[0]!, flags.has('v') ? Number(flags.get('v')) : -1);
    },
  },
  deleteall: {
    usage: 'deleteall path',
    async run(zk, args) {
      need(args, 1, this.usage);
      await deleteAll(zk, args[0]!);
    },
  },
  stat: {
    usage: 'stat [-w] path',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, []);
      need(rest, 1, this.usage);
      const stat = await zk.exists(rest[0]!, flags.has('w') ? printEvent(io) : undefined);
      if (!stat) throw new ZooKeeperError(ErrorCode.NONODE, rest[0]);
      io.out(formatStat(stat));
    },
  },
  getAcl: {
    usage: 'getAcl [-s] path',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, []);
      need(rest, 1, this.usage);
      const { acl, stat } = await zk.getACL(rest[0]!);
      io.out(formatAcl(acl));
      if (flags.has('s')) io.out(formatStat(stat));
    },
  },
  setAcl: {
    usage: 'setAcl [-s] [-v version] [-R] path acl',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, ['v']);
      need(rest, 2, this.usage);
      const acl = parseAcl(rest[1]!);
      const version = flags.has('v') ? Number(flags.get('v')) : -1;
      const apply = async (p: string): Promise<void> => {
        const stat = await zk.setACL(p, acl, p === rest[0] ? version : -1);
        if (flags.has('s') && p === rest[0]) io.out(formatStat(stat));
        if (flags.has('R')) for (const c of await zk.getChildren(p)) await apply(p === '/' ? `/${c}` : `${p}/${c}`);
      };
      await apply(rest[0]!);
    },
  },
  addauth: {
    usage: 'addauth scheme auth',
    async run(zk, args) {
      need(args, 2, this.usage);
      await zk.addAuth(args[0]!, Buffer.from(args[1]!));
    },
  },
  sync: {
    usage: 'sync path',
    async run(zk, args, io) {
      need(args, 1, this.usage);
      await zk.sync(args[0]!);
      io.out('Sync is OK');
    },
  },
  getEphemerals: {
    usage: 'getEphemerals path',
    async run(zk, args, io) {
      const eph = await zk.getEphemerals(args[0] ?? '/');
      io.out(`[${eph.join(', ')}]`);
    },
  },
  getAllChildrenNumber: {
    usage: 'getAllChildrenNumber path',
    async run(zk, args, io) {
      need(args, 1, this.usage);
      io.out(String(await zk.getAllChildrenNumber(args[0]!)));
    },
  },
  addWatch: {
    usage: 'addWatch [-m mode] path # mode is PERSISTENT or PERSISTENT_RECURSIVE (default)',
    async run(zk, args, io) {
      const { flags, rest } = parseFlags(args, ['m']);
      need(rest, 1, this.usage);
      const modeName = String(flags.get('m') ?? 'PERSISTENT_RECURSIVE').toUpperCase();
      const mode: PersistentWatchMode | undefined = modeName === 'PERSISTENT' ? 'persistent' : modeName === 'PERSISTENT_RECURSIVE' ? 'persistentRecursive' : undefined;
      if (mode === undefined) throw new UsageError(`unknown watch mode ${modeName}: use PERSISTENT or PERSISTENT_RECURSIVE`);
      await zk.addWatch(rest[0]!, mode, printEvent(io));
    },
  },
  whoami: {
    usage: 'whoami',
    async run(zk, _args, io) {
      const infos = await zk.whoAmI();
      io.out('Auth scheme: User');
      for (const i of infos) io.out(`${i.authScheme}: ${i.user}`);
    },
  },
};
