// Log lines: each key once per JSON line (a call repeating its logger's binding), and the terminal format.

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../../src/cli/log-line-format.js';
import { dropBoundKeys } from '../../../src/server/logger.js';

/** Keys of a JSON object's top level, in order, repeats included (JSON.parse would hide them). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (depth === 1 && expectKey) keys.push(line.slice(start, i));
        expectKey = false;
      }
    } else if (c === '"') {
      inString = true;
      start = i + 1;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

function capture() {
  const lines: string[] = [];
  const logger = pino({ base: { pid: 1 }, hooks: { logMethod: dropBoundKeys } }, { write: (s: string) => lines.push(s.trim()) });
  return { logger, lines };
}

describe('JSON log lines', () => {
  it('carry a key once when a call repeats its child logger\'s binding', () => {
    const { logger, lines } = capture();
    const zab = logger.child({ component: 'zab' });
    zab.info({ component: 'zab', role: 'looking' }, 'looking for a leader');
    const session = logger.child({ sessionId: '0x1' });
    session.info({ sessionId: '0x1', timeoutMs: 4000 }, 'established session');
    expect(topLevelKeys(lines[0]!)).toEqual(['level', 'time', 'pid', 'component', 'role', 'msg']);
    expect(topLevelKeys(lines[1]!)).toEqual(['level', 'time', 'pid', 'sessionId', 'timeoutMs', 'msg']);
  });

  it('keep a differing repeated value under <key>_2 rather than a second <key>', () => {
    const { logger, lines } = capture();
    logger.child({ component: 'zab' }).warn({ component: 'election', n: 1 }, 'x');
    const keys = topLevelKeys(lines[0]!);
    expect(keys.filter((k) => k === 'component')).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ component: 'zab', component_2: 'election', n: 1 });
  });

  it('leave error objects and plain messages alone', () => {
    const { logger, lines } = capture();
    logger.child({ component: 'c' }).error(new Error('boom'));
    logger.info('plain');
    expect(JSON.parse(lines[0]!).err.message).toBe('boom');
    expect(JSON.parse(lines[1]!).msg).toBe('plain');
  });
});

describe('terminal log format', () => {
  it('shows time, level, component, message and the other fields, with no colour codes', () => {
    const t = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    const line = JSON.stringify({ level: 40, time: t, pid: 9, serverId: 2, component: 'zab', role: 'looking', reason: 'leader 2 silent', msg: 'looking for a leader' });
    expect(formatLogLine(line)).toBe('03:04:05.006 WARN  zab: looking for a leader role=looking reason="leader 2 silent"');
    expect(formatLogLine(line)).not.toMatch(/\u001b\[/);
  });

  it('passes through what is not a JSON object', () => {
    expect(formatLogLine('docker-entrypoint: using existing /conf/zoo.cfg')).toBe('docker-entrypoint: using existing /conf/zoo.cfg');
    expect(formatLogLine('{not json')).toBe('{not json');
  });
});
