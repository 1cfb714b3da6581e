// The zkCli configuration verbs: `config` (the ensemble's /zookeeper/config) and `reconfig`
// (dynamic reconfiguration, which zabkeeper answers with RECONFIGDISABLED as ZooKeeper 3.8
// does with reconfigEnabled=false).

import { readFile } from 'node:fs/promises';
import { formatStat, formatWatchEvent } from './shell-format.js';
import { parseFlags, UsageError, type Verb } from './shell-commands.js';

export const CONFIG_VERBS: Record<string, Verb> = {
  config: {
    usage: 'config [-c] [-w] [-s]',
    async run(zk, args, io) {
      const { flags } = parseFlags(args, []);
      if (flags.has('c')) throw new UsageError('config -c (client connect string form) is not supported by zabkeeper shell');
      const { data, stat } = await zk.getConfig(flags.has('w') ? (ev) => io.out(formatWatchEvent(ev)) : undefined);
      io.out(data.toString('utf8'));
      if (flags.has('s')) io.out(formatStat(stat));
    },
  },
  reconfig: {
    usage: 'reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]',
    async run(zk, args, io) {
      const { flags } = parseFlags(args, ['v', 'file', 'members', 'add', 'remove']);
      const add = flags.get('add');
      const remove = flags.get('remove');
      const members = flags.get('members');
      const file = flags.get('file');
      if (add === undefined && remove === undefined && members === undefined && file === undefined) throw new UsageError(this.usage);
      if ((members !== undefined || file !== undefined) && (add !== undefined || remove !== undefined)) {
        throw new UsageError('-members or -file cannot be combined with -add or -remove');
      }
      let newMembers = typeof members === 'string' ? members.split(',') : undefined;
      if (typeof file === 'string') {
        const text = await readFile(file, 'utf8').catch((e: Error) => {
          throw new Error(`Error processing ${file} (${e.message})`);
        });
        newMembers = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('server.'));
      }
      const version = flags.get('v');
      const fromConfig = typeof version === 'string' ? Number.parseInt(version, 16) : -1;
      if (Number.isNaN(fromConfig)) throw new UsageError(`-v needs a config version in hex, got ${String(version)}`);
      const { data, stat } = await zk.reconfig({
        joining: typeof add === 'string' ? add.split(',') : undefined,
        leaving: typeof remove === 'string' ? remove.split(',') : undefined,
        newMembers,
        fromConfig,
      });
      io.out('Committed new configuration:');
      io.out(data.toString('utf8'));
      if (flags.has('s')) io.out(formatStat(stat));
    },
  },
};
