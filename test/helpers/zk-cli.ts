// Runs Apache ZooKeeper's zkCli.sh (Debian package `zookeeper`) for interop tests.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runCommand } from './run-command.js';

export const ZKCLI = process.env.ZKCLI ?? '/usr/share/zookeeper/bin/zkCli.sh';

/** Fails loudly (never skips) when zkCli.sh is missing: CI installs it with apt-get. */
export function requireZkCli(): void {
  if (!existsSync(ZKCLI)) {
    throw new Error(`${ZKCLI} not found: install Apache ZooKeeper with 'apt-get install -y zookeeper' (CI does this in .ci/run)`);
  }
}

export interface CliResult {
  code: number;
  /** stdout and stderr together, minus the JVM's SLF4J noise; zkCli prints results on both. */
  output: string;
}

export async function zkCli(connectString: string, args: string[], timeoutMs = 30_000, env?: Record<string, string>): Promise<CliResult> {
  // No hsperfdata file: parallel JVMs can collide on one (pid reuse), and the JVM then prints
  // "Cannot use file /tmp/hsperfdata_root/<pid> because it is locked" into the output compared.
  const jvmFlags = ['-XX:-UsePerfData', env?.JVMFLAGS ?? process.env.JVMFLAGS ?? ''].join(' ').trim();
  const r = await runCommand(ZKCLI, ['-server', connectString, ...args], { timeoutMs, env: { ...process.env, ...env, JVMFLAGS: jvmFlags } });
  return { code: r.code, output: withoutSlf4jNoise(r.stdout + '\n' + r.stderr) };
}

/**
 * Runs `lines` through one zkCli.sh session (fed on stdin, as typed at its prompt) and returns
 * what it printed, stdout then stderr, minus the JVM's SLF4J noise.
 */
export function zkCliScript(connectString: string, lines: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(ZKCLI, ['-server', connectString], { env: { ...process.env, JVMFLAGS: ['-XX:-UsePerfData', process.env.JVMFLAGS ?? ''].join(' ').trim() }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zkCli script timed out after ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output: withoutSlf4jNoise(stdout + '\n' + stderr) });
    });
    child.stdin.end([...lines, 'quit', ''].join('\n'));
  });
}

/** The JVM's SLF4J binding notices: zkCli prints them before anything else, on every run. */
function withoutSlf4jNoise(output: string): string {
  return output
    .split('\n')
    .filter((l) => !l.startsWith('SLF4J:'))
    .join('\n');
}

/**
 * zkCli's answer to one command, without the JVM's connection chatter (which names ports and
 * session ids), for transcripts compared between zabkeeper and a real ZooKeeper. A ConnectionLoss
 * is the JVM's session not set up in time on a busy machine (seen against the real ZooKeeper in
 * CI), not the answer being compared: the command runs again, up to `attempts` times in all.
 */
export async function zkCliAnswer(connectString: string, words: string[], attempts = 3): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const r = await zkCli(connectString, words);
    const answer = r.output
      .split('\n')
      .filter((l) => l.trim() !== '' && !/^(Connecting to|WATCHER::|WatchedEvent|Welcome to ZooKeeper|JLine)/.test(l) && !/^\[.*\] (INFO|WARN|ERROR|DEBUG)/.test(l))
      .join('\n');
    if (attempt >= attempts || !answer.includes('KeeperErrorCode = ConnectionLoss')) return answer;
  }
}

/** Debian's netty jars, which ZooKeeper's Netty client and server (the ones that speak TLS) need. */
export const NETTY_JARS = ['common', 'buffer', 'codec', 'handler', 'resolver', 'transport', 'transport-native-unix-common', 'transport-native-epoll'].map(
  (n) => `/usr/share/java/netty-${n}.jar`,
);

export function requireNetty(): void {
  const missing = NETTY_JARS.filter((j) => !existsSync(j));
  if (missing.length > 0) throw new Error(`netty jars missing (${missing.join(', ')}): install them with 'apt-get install -y libnetty-java' (CI does this in .ci/run)`);
}

/**
 * CLIENT_JVMFLAGS for zkCli.sh over TLS: the Netty client socket with zookeeper.client.secure and
 * ssl.* stores. zkEnv.sh fixes the classpath, so a later -cp adds the netty jars.
 */
export function secureCliEnv(ssl: Record<string, string>, extraFlags: string[] = []): Record<string, string> {
  const cp = ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', ...NETTY_JARS].join(':');
  const props = Object.entries(ssl).map(([k, v]) => `-Dzookeeper.${k}=${v}`);
  return {
    CLIENT_JVMFLAGS: ['-cp', cp, '-Dzookeeper.client.secure=true', '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty', ...props, ...extraFlags].join(' '),
  };
}
