// Compiles and runs test/helpers/curator/CuratorScenarios.java against Debian's Apache Curator 5.4 jars, for interop tests.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, type CommandResult } from './run-command.js';

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'curator', 'CuratorScenarios.java');

/** Curator's recipes and service discovery, the ZooKeeper 3.8 client they run on, and a silent SLF4J binding. */
const JARS = ['curator-recipes', 'curator-x-discovery', 'curator-framework', 'curator-client', 'zookeeper', 'slf4j-nop'].map((j) => `/usr/share/java/${j}.jar`);

/** A running scenario JVM: what it has printed so far, and its exit code once it ends. */
export interface CuratorProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  exited: Promise<number>;
}

export interface CuratorRunner {
  /** Runs `scenarios` in one JVM under `root`; resolves with what it printed and its exit code. */
  run(connectString: string, root: string, scenarios: string[], timeoutMs?: number): Promise<CommandResult>;
  /** Starts one JVM on `scenarios` with stdin open (the failover and discovery scenarios wait for a line on it). */
  spawn(connectString: string, root: string, scenarios: string[]): CuratorProcess;
  /** Removes the compiled classes. */
  dispose(): Promise<void>;
}

/**
 * Fails loudly (never skips) when javac or Curator is missing: CI installs them with apt-get
 * (scripts/provision.sh). Compiles the scenarios into a temp dir of their own.
 */
export async function compileCuratorScenarios(): Promise<CuratorRunner> {
  const missing = JARS.filter((j) => !existsSync(j));
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not found: install Apache Curator with 'apt-get install -y libcurator-recipes-java libcurator-discovery-java' (scripts/provision.sh does this)`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-curator-'));
  const classpath = [dir, ...JARS].join(':');
  const built = await runCommand('javac', ['-nowarn', '-d', dir, '-cp', classpath, SOURCE], { timeoutMs: 120_000 }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  if (built.code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`javac could not compile ${SOURCE} (install a JDK: 'apt-get install -y openjdk-17-jdk-headless'):\n${built.stderr}`);
  }
  // No hsperfdata file: parallel JVMs can collide on one (see zk-cli.ts).
  const java = (connectString: string, root: string, scenarios: string[]): string[] => ['-XX:-UsePerfData', '-Xmx256m', '-cp', classpath, 'CuratorScenarios', connectString, root, ...scenarios];
  return {
    run: (connectString, root, scenarios, timeoutMs = 120_000) => runCommand('java', java(connectString, root, scenarios), { timeoutMs }),
    spawn: (connectString, root, scenarios) => {
      const child = spawn('java', java(connectString, root, scenarios), { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
      return { child, stdout: () => stdout, stderr: () => stderr, exited };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The transcript's lines with what must differ between two runs masked: the UUID in Curator's protected names. */
export function curatorTranscript(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-/g, '_c_UUID-'));
}
