// `zabkeeper status`: what `zkServer.sh status` answers (mode, zxid), for any zoo.cfg, plus which member leads.

import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError, loadServerConfig, type ServerConfig } from '../server/config.js';

export interface StatusOutput {
  write(text: string): unknown;
}

interface SrvrAnswer {
  mode: string | undefined;
  zxid: string | undefined;
}

/** Sends srvr (always whitelisted) and reads Mode and Zxid; undefined when nothing answers. */
function srvr(host: string, port: number, timeoutMs: number): Promise<SrvrAnswer | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect({ host, port }, () => socket.write('srvr'));
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
    socket.on('error', () => resolve(undefined));
    socket.on('close', () => {
      if (text === '') return resolve(undefined);
      resolve({ mode: /^Mode: (\S+)/m.exec(text)?.[1], zxid: /^Zxid: (\S+)/m.exec(text)?.[1] });
    });
  });
}

/** zkServer.sh's choice: the --config given, else $ZOO_CONF_DIR/zoo.cfg (the image's), else conf/zoo.cfg. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [env.ZOO_CONF_DIR ? path.join(env.ZOO_CONF_DIR, 'zoo.cfg') : undefined, path.join('conf', 'zoo.cfg')];
  return candidates.find((p) => p !== undefined && existsSync(p)) ?? path.join('conf', 'zoo.cfg');
}

async function loadForStatus(configPath: string): Promise<ServerConfig> {
  try {
    return await loadServerConfig({ configPath, env: {} });
  } catch (err) {
    // Asked from a machine without this member's myid: still report, on the configured clientPort.
    if (err instanceof ConfigError && /myid/.test(err.message)) return loadServerConfig({ configPath, env: {}, flags: { standalone: true }, readMyIdFile: false });
    throw err;
  }
}

/** Returns the exit code: 0 serving, 1 not reachable or not serving, 2 bad configuration. */
export async function runStatus(configPath: string | undefined, out: StatusOutput = process.stdout, err: StatusOutput = process.stderr, timeoutMs = 3000): Promise<number> {
  const cfgPath = configPath ?? defaultConfigPath();
  out.write(`Using config: ${cfgPath}\n`);
  let config: ServerConfig;
  try {
    config = await loadForStatus(cfgPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      err.write(`zabkeeper: invalid configuration: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  // As zkServer.sh: the configured client address, or localhost when it binds every interface.
  const host = config.clientPortAddress === undefined || config.clientPortAddress === '0.0.0.0' || config.clientPortAddress === '::' ? 'localhost' : config.clientPortAddress;
  out.write(`Client port found: ${config.clientPort}. Client address: ${host}. Client SSL: false.\n`);
  const own = await srvr(host, config.clientPort, timeoutMs);
  if (own === undefined) {
    err.write('Error contacting service. It is probably not running.\n');
    return 1;
  }
  if (own.mode === undefined) {
    err.write('This server is not serving requests (no quorum, or still starting).\n');
    return 1;
  }
  out.write(`Mode: ${own.mode}\n`);
  if (own.zxid !== undefined) out.write(`Zxid: ${own.zxid}\n`);
  if (own.mode === 'leader' && config.serverId !== undefined) {
    out.write(`Leader: server.${config.serverId}\n`);
  } else if (own.mode === 'follower' || own.mode === 'observer') {
    // srvr does not name the leader: ask the members whose client port the config gives.
    const answers = await Promise.all(
      config.servers.map(async (s) => ({ s, a: await srvr(s.clientAddress ?? s.host, s.clientPort ?? config.clientPort, timeoutMs) })),
    );
    const leader = answers.find((x) => x.a?.mode === 'leader');
    out.write(leader ? `Leader: server.${leader.s.id} (${leader.s.host})\n` : 'Leader: not found among the configured members\' client ports\n');
  }
  return 0;
}

export function createStatusCommand(onExitCode: (code: number) => void): CommandModule<object, { config?: string }> {
  return {
    command: 'status',
    describe: 'report a server\'s mode, zxid and leader, as zkServer.sh status does',
    builder: (y: Argv<object>) =>
      y
        .option('config', { alias: 'c', type: 'string', describe: 'zoo.cfg of the server to ask (default $ZOO_CONF_DIR/zoo.cfg, else conf/zoo.cfg)' })
        .example('$0 status --config /conf/zoo.cfg', 'Mode: follower') as unknown as Argv<{ config?: string }>,
    handler: async (a) => onExitCode(await runStatus(a.config)),
  };
}
