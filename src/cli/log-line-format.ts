// Turns one JSON log line (pino's format) into a line a person reads on a terminal; no colour codes.

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, shown in the fixed part of the line (or not at all). */
const FIXED = new Set(['level', 'time', 'pid', 'hostname', 'serverId', 'component', 'msg']);

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v !== null && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') return JSON.stringify((v as { message: string }).message);
  return JSON.stringify(v);
}

/** `12:00:01.234 INFO  zab: looking for a leader role=looking epoch=0`; a line that is not a JSON object comes back as it was. */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = LEVEL_NAMES[o.level as number] ?? String(o.level ?? '');
  const head = `${typeof o.time === 'number' ? clock(o.time) : ''} ${level.padEnd(5)} ${o.component !== undefined ? `${String(o.component)}: ` : ''}${String(o.msg ?? '')}`;
  const rest = Object.entries(o)
    .filter(([k]) => !FIXED.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  return rest.length > 0 ? `${head} ${rest.join(' ')}` : head;
}
