// The JAAS login file ZooKeeper reads (java.security.auth.login.config): its Server section's
// DigestLoginModule options user_<name>="<password>" are the SASL DIGEST-MD5 accounts.

import { readFileSync } from 'node:fs';

export class JaasConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JaasConfigError';
  }
}

/** Section name -> its login module entries' options (name=value, quotes removed). */
export function parseJaas(text: string, source: string): Map<string, Map<string, string>> {
  const src = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  const sections = new Map<string, Map<string, string>>();
  const sectionRe = /([A-Za-z0-9_.-]+)\s*\{([\s\S]*?)\}\s*;/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = sectionRe.exec(src)) !== null) {
    if (src.slice(consumed, m.index).trim() !== '') throw new JaasConfigError(`${source}: cannot parse "${src.slice(consumed, m.index).trim().slice(0, 40)}"`);
    consumed = m.index + m[0].length;
    const options = new Map<string, string>();
    // module-class flag [name=value ...];
    const entryRe = /\s*([A-Za-z0-9_.$]+)\s+(required|requisite|sufficient|optional)\b([^;]*);/g;
    const body = m[2]!;
    let e: RegExpExecArray | null;
    let bodyConsumed = 0;
    while ((e = entryRe.exec(body)) !== null) {
      if (body.slice(bodyConsumed, e.index).trim() !== '') throw new JaasConfigError(`${source}: section ${m[1]}: cannot parse "${body.slice(bodyConsumed, e.index).trim().slice(0, 40)}"`);
      bodyConsumed = e.index + e[0].length;
      const optRe = /([A-Za-z0-9_.-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s"]+)/g;
      let o: RegExpExecArray | null;
      while ((o = optRe.exec(e[3]!)) !== null) options.set(o[1]!, o[3] !== undefined ? o[3].replace(/\\(.)/g, '$1') : o[2]!);
    }
    if (body.slice(bodyConsumed).trim() !== '') throw new JaasConfigError(`${source}: section ${m[1]}: cannot parse "${body.slice(bodyConsumed).trim().slice(0, 40)}"`);
    sections.set(m[1]!, options);
  }
  if (src.slice(consumed).trim() !== '') throw new JaasConfigError(`${source}: cannot parse "${src.slice(consumed).trim().slice(0, 40)}"`);
  return sections;
}

/** The DIGEST-MD5 users of the file's `section` (ZooKeeper's default section is "Server"). */
export function loadDigestUsers(file: string, section = 'Server'): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new JaasConfigError(`cannot read JAAS file ${file}: ${(err as Error).message}`);
  }
  const options = parseJaas(text, file).get(section);
  if (options === undefined) throw new JaasConfigError(`${file}: no ${section} section (ZooKeeper's server reads its SASL users from it)`);
  const users = new Map<string, string>();
  for (const [k, v] of options) if (k.startsWith('user_')) users.set(k.slice('user_'.length), v);
  if (users.size === 0) throw new JaasConfigError(`${file}: section ${section} has no user_<name>="<password>" entries`);
  return users;
}
