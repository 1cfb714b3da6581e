// `zabkeeper shell`: a zkCli-style shell, interactive (readline with history) or one-shot.

import { appendFileSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ZooKeeperClient } from '../client/index.js';
import { CONFIG_VERBS } from './config-commands.js';
import { QUOTA_VERBS } from './quota-commands.js';
import { describeError, UsageError, VERBS as BASIC_VERBS, type ShellIO, type Verb } from './shell-commands.js';

/** Every verb the shell knows: the basic zkCli verbs, the quota ones and config/reconfig. */
const VERBS: Record<string, Verb> = { ...BASIC_VERBS, ...QUOTA_VERBS, ...CONFIG_VERBS };

export interface ShellArgs {
  server: string;
  timeout?: number;
  /** Words after `--`: a one-shot command. */
  command?: string[];
}

const stdio: ShellIO = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
};

/** Splits a typed line into words, honouring single and double quotes. */
export function splitLine(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  return words;
}

function help(io: ShellIO): void {
  io.err('ZooKeeper -server host:port cmd args');
  for (const v of Object.values(VERBS)) io.err(`\t${v.usage}`);
  io.err('\tclose\n\tconnect host:port\n\thistory\n\tquit');
}

/** Runs one verb; returns false when it failed (the message is already printed). */
export async function runVerb(zk: ZooKeeperClient, words: string[], io: ShellIO): Promise<boolean> {
  const [name, ...args] = words;
  const verb = name === undefined ? undefined : VERBS[name];
  if (!verb) {
    help(io);
    return false;
  }
  try {
    await verb.run(zk, args, io);
    return true;
  } catch (e) {
    if (e instanceof UsageError) io.err(`${e.message}\nusage: ${verb.usage}`);
    else io.err(describeError(e, args.find((a) => a.startsWith('/'))));
    return false;
  }
}

export async function runShell(argv: ShellArgs): Promise<number> {
  const timeoutMs = argv.timeout ?? 30_000;
  let zk = await ZooKeeperClient.connect(argv.server, { sessionTimeoutMs: timeoutMs });
  if (argv.command && argv.command.length > 0) {
    const ok = await runVerb(zk, argv.command, stdio);
    // Watches asked for in one-shot mode (-w) are not waited for: the process ends here.
    await zk.close();
    return ok ? 0 : 1;
  }
  return interactive(zk, argv.server, timeoutMs, async (next) => {
    zk = next;
  });
}

async function interactive(initial: ZooKeeperClient, server: string, timeoutMs: number, swap: (zk: ZooKeeperClient) => Promise<void>): Promise<number> {
  let zk: ZooKeeperClient | null = initial;
  let current = server;
  let counter = 0;
  const historyFile = join(homedir(), '.zabkeeper_history');
  let history: string[] = [];
  try {
    history = readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 500);
  } catch {
    // first run: no history yet
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, history, historySize: 500, terminal: process.stdin.isTTY });
  const state = (): string => (zk ? String(zk.state).toUpperCase() : 'CLOSED');
  const prompt = (): void => {
    rl.setPrompt(`[zk: ${current}(${state()}) ${counter++}] `);
    rl.prompt();
  };
  prompt();
  for await (const line of rl) {
    const words = splitLine(line);
    if (words.length > 0) {
      try {
        appendFileSync(historyFile, line + '\n');
      } catch {
        // history is a convenience; an unwritable home must not stop the shell
      }
      const [verb, ...args] = words;
      if (verb === 'quit') break;
      if (verb === 'close') {
        await zk?.close();
        zk = null;
      } else if (verb === 'connect') {
        await zk?.close();
        current = args[0] ?? current;
        try {
          zk = await ZooKeeperClient.connect(current, { sessionTimeoutMs: timeoutMs });
          await swap(zk);
        } catch (e) {
          stdio.err(describeError(e, undefined));
          zk = null;
        }
      } else if (verb === 'history') {
        // readline keeps history newest-first on the interface; it is not in the typings.
        const lines = ((rl as unknown as { history?: string[] }).history ?? []).slice(0, 20).reverse();
        lines.forEach((h, i) => stdio.out(`${i}: ${h}`));
      } else if (verb === 'help') {
        help(stdio);
      } else if (!zk) {
        stdio.err('Not connected: use connect host:port');
      } else {
        await runVerb(zk, words, stdio);
      }
    }
    prompt();
  }
  rl.close();
  await zk?.close();
  return 0;
}
