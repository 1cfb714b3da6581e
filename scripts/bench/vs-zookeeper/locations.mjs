// Where the benchmark finds things: the repository, Debian's ZooKeeper jars, zabkeeper's executable, the docs it writes.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ZK_JAR = '/usr/share/java/zookeeper.jar';
export const SLF4J_BINDING = '/usr/share/java/slf4j-simple.jar';
export const ZAB_BIN = path.join(ROOT, 'bin', 'zabkeeper');
export const DOCS = path.join(ROOT, 'docs', 'benchmarks.md');
