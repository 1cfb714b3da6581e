// The `zabkeeper` command line: yargs subcommands dispatching to the server and the shell.

import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runServer } from './server-command.js';
import { createToolsCommand } from './tools-command.js';
import { createRecipeCommands } from './recipe-commands.js';
import { createLocalEnsembleCommand } from './local-ensemble-command.js';
import { createStatusCommand } from './status-command.js';
import { UsageError } from './usage-error.js';

function serverOptions(y: Argv) {
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'ZooKeeper-format zoo.cfg to read' })
    .option('standalone', { type: 'boolean', describe: 'run a single node even if server.N lines are present' })
    .option('client-port', { type: 'number', describe: 'client port (0 picks a free one); default 2181' })
    .option('client-port-address', { type: 'string', describe: 'address to bind the client port to; default every interface' })
    .option('data-dir', { type: 'string', describe: 'data directory (holds myid)' })
    .option('tick-time', { type: 'number', describe: 'tick length in ms; default 3000' })
    .option('max-buffer', { type: 'number', describe: 'largest request accepted in bytes (jute.maxbuffer); default 1048575' })
    .option('log-level', { type: 'string', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], describe: 'log level (env ZABKEEPER_LOG_LEVEL)' })
    .option('log-pretty', { type: 'boolean', describe: 'human-readable logs (needs pino-pretty)' })
    .option('4lw-whitelist', { type: 'string', describe: 'four-letter words to enable, comma separated, or "*"; srvr is always enabled' })
    .option('admin-port', { type: 'number', describe: 'serve the admin HTTP API (/commands, /metrics) on this port (0 picks one); off by default' })
    .example('$0 server --standalone --data-dir ./data --4lw-whitelist "*"', 'one node on port 2181')
    .example('$0 server --config conf/zoo.cfg', 'settings from a ZooKeeper zoo.cfg');
}

function shellOptions(y: Argv) {
  return y
    .option('server', { alias: 's', type: 'string', default: '127.0.0.1:2181', describe: 'connect string host:port[,host:port...][/chroot]' })
    .option('timeout', { alias: 't', type: 'number', describe: 'session timeout in ms' })
    // security: a secureClientPort; the server's certificate is checked against --tls-ca.
    .option('tls-ca', { type: 'string', describe: 'connect over TLS, trusting the CA certificates in this PEM file' })
    .option('tls-cert', { type: 'string', describe: 'client certificate (PEM) to present over TLS' })
    .option('tls-key', { type: 'string', describe: 'private key (PEM) of --tls-cert' })
    .example('$0 shell --server 127.0.0.1:2181', 'interactive shell')
    .example('$0 shell -- ls /', 'run one command and exit')
    .example('$0 shell -server 127.0.0.1:2181 ls /', 'zkCli.sh\'s own form');
}

/** node:tls options from the shell's --tls-* flags; undefined (plaintext) without --tls-ca. */
function shellTls(ca: string | undefined, cert: string | undefined, key: string | undefined): ConnectionOptions | undefined {
  if (ca === undefined) {
    if (cert !== undefined || key !== undefined) throw new UsageError('--tls-cert and --tls-key need --tls-ca');
    return undefined;
  }
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const read = (file: string, flag: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`${flag} ${file}: ${(err as Error).message}`);
    }
  };
  return { ca: read(ca, '--tls-ca'), ...(cert !== undefined && key !== undefined ? { cert: read(cert, '--tls-cert'), key: read(key, '--tls-key') } : {}) };
}

/**
 * zkCli.sh's own form for `shell`: `-server host:port` and `-timeout ms` with one dash, and the
 * command's words straight after the options (`shell -server h:2181 ls -R /`), without `--`.
 */
export function zkCliShellArgs(argv: readonly string[]): string[] {
  if (argv[0] !== 'shell' || argv.includes('--')) return [...argv];
  const out = ['shell'];
  const valued = new Set(['--server', '-s', '--timeout', '-t']);
  for (let i = 1; i < argv.length; i++) {
    let a = argv[i]!;
    if (a === '-server' || a === '-timeout') a = `-${a}`;
    if (valued.has(a)) {
      out.push(a);
      if (i + 1 < argv.length) out.push(argv[++i]!);
    } else if (a.startsWith('-')) {
      out.push(a);
    } else {
      // The first word that is not an option starts the command.
      out.push('--', ...argv.slice(i));
      break;
    }
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const cli = yargs(zkCliShellArgs(argv))
    .scriptName('zabkeeper')
    .usage('$0 <command> [options]')
    .command(
      'server',
      'run a zabkeeper server',
      (y) => serverOptions(y),
      async (args) => {
        exitCode = await runServer({
          config: args.config,
          standalone: args.standalone,
          clientPort: args['client-port'],
          clientPortAddress: args['client-port-address'],
          dataDir: args['data-dir'],
          tickTime: args['tick-time'],
          maxBuffer: args['max-buffer'],
          logLevel: args['log-level'],
          logPretty: args['log-pretty'],
          fourLetterWordWhitelist: args['4lw-whitelist'],
          adminPort: args['admin-port'],
        });
      },
    )
    .command(
      'shell',
      'zkCli-style shell; words after -- run as one command',
      (y) => shellOptions(y),
      async (args) => {
        // Lazy: the server never loads the client.
        const { runShell } = await import('./shell.js');
        const command = (args['--'] as (string | number)[] | undefined)?.map(String);
        exitCode = await runShell({ server: args.server, timeout: args.timeout, command, tls: shellTls(args['tls-ca'], args['tls-cert'], args['tls-key']) });
      },
    )
    .command(createToolsCommand((code) => (exitCode = code)))
    .command(createRecipeCommands((code) => (exitCode = code)))
    .command(createLocalEnsembleCommand((code) => (exitCode = code)))
    .command(createStatusCommand((code) => (exitCode = code)))
    .demandCommand(1, 'name a command: server, local-ensemble, status, shell, tools, lock, elect or watch')
    .parserConfiguration({ 'populate--': true })
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      // Throwing stops yargs from running the command after a usage error.
      throw err ?? new UsageError(msg);
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`zabkeeper: ${err.message}\n\nRun "zabkeeper --help" for usage.\n`);
      return 2;
    }
    throw err;
  }
  return exitCode;
}

/** Entry point for bin/zabkeeper: runs the command line and exits with its code. */
export function run(): void {
  main(hideBin(process.argv)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`zabkeeper: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
