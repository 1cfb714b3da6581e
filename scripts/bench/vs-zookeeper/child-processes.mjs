// Bookkeeping of every process and temp dir the benchmark starts, so all of them go away on exit, signal, error or SIGKILL.

import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const started = new Set(); // ChildProcess objects still to be killed
const tempDirs = new Set();
let reaper;

function track(child) {
  started.add(child);
  reaper?.send({ addPid: child.pid });
  child.once('exit', () => {
    started.delete(child);
    if (reaper?.connected) reaper.send({ removePid: child.pid });
  });
  return child;
}

function makeTempDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `zabkeeper-vs-zk-${tag}-`));
  tempDirs.add(d);
  reaper?.send({ addDir: d });
  return d;
}

function removeTempDir(d) {
  fs.rmSync(d, { recursive: true, force: true });
  tempDirs.delete(d);
  if (reaper?.connected) reaper.send({ removeDir: d });
}

/** Synchronous so it can run from process.on('exit'). */
function cleanupSync() {
  for (const child of started) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  started.clear();
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
  if (reaper?.connected) reaper.disconnect();
}

function waitExit(child, timeoutMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return Promise.race([new Promise((r) => child.once('exit', r)), sleep(timeoutMs)]);
}

/** Starts the reaper; from now on every tracked pid and temp dir is registered with it. */
function startReaper() {
  reaper = fork(fileURLToPath(new URL('./reaper.mjs', import.meta.url)), [], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  reaper.unref();
  reaper.channel?.unref();
}

export { track, makeTempDir, removeTempDir, cleanupSync, waitExit, startReaper };
