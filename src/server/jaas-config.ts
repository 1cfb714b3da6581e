// The JAAS login file ZooKeeper reads (java.security.auth.login.config): its Server section's
// DigestLoginModule options user_<name>="<password>" are the SASL DIGEST-MD5 accounts; with
// quorum SASL, QuorumServer holds the members' accounts and QuorumLearner this member's own.

import { readFileSync } from 'node:fs';

export class JaasConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JaasConfigError';
  }
}

/** One section: its login module classes and their options (name=value, quotes removed). */
export interface JaasSection {
  modules: string[];
  options: Map<string, string>;
}

/** Section name -> its login module entries' options (name=value, quotes removed). */
export function parseJaas(text: string, source: string): Map<string, Map<string, string>> {
  return new Map([...parseJaasSections(text, source)].map(([name, sec]) => [name, sec.options]));
}

export function parseJaasSections(text: string, source: string): Map<string, JaasSection> {
  const src = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  const sections = new Map<string, JaasSection>();
  const sectionRe = /([A-Za-z0-9_.-]+)\s*\{([\s\S]*?)\}\s*;/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = sectionRe.exec(src)) !== null) {
    if (src.slice(consumed, m.index).trim() !== '') throw new JaasConfigError(`${source}: cannot parse "${src.slice(consumed, m.index).trim().slice(0, 40)}"`);
    consumed = m.index + m[0].length;
    const options = new Map<string, string>();
    const modules: string[] = [];
    // module-class flag [name=value ...];
    const entryRe = /\s*([A-Za-z0-9_.$]+)\s+(required|requisite|sufficient|optional)\b([^;]*);/g;
    const body = m[2]!;
    let e: RegExpExecArray | null;
    let bodyConsumed = 0;
    while ((e = entryRe.exec(body)) !== null) {
      if (body.slice(bodyConsumed, e.index).trim() !== '') throw new JaasConfigError(`${source}: section ${m[1]}: cannot parse "${body.slice(bodyConsumed, e.index).trim().slice(0, 40)}"`);
      bodyConsumed = e.index + e[0].length;
      modules.push(e[1]!);
      const optRe = /([A-Za-z0-9_.-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s"]+)/g;
      let o: RegExpExecArray | null;
      while ((o = optRe.exec(e[3]!)) !== null) options.set(o[1]!, o[3] !== undefined ? o[3].replace(/\\(.)/g, '$1') : o[2]!);
    }
    if (body.slice(bodyConsumed).trim() !== '') throw new JaasConfigError(`${source}: section ${m[1]}: cannot parse "${body.slice(bodyConsumed).trim().slice(0, 40)}"`);
    sections.set(m[1]!, { modules, options });
  }
  if (src.slice(consumed).trim() !== '') throw new JaasConfigError(`${source}: cannot parse "${src.slice(consumed).trim().slice(0, 40)}"`);
  return sections;
}

function readJaas(file: string): Map<string, JaasSection> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new JaasConfigError(`cannot read JAAS file ${file}: ${(err as Error).message}`);
  }
  return parseJaasSections(text, file);
}

/** The DIGEST-MD5 users of the file's `section` (ZooKeeper's default section is "Server"). */
export function loadDigestUsers(file: string, section = 'Server'): Map<string, string> {
  const options = readJaas(file).get(section)?.options;
  if (options === undefined) throw new JaasConfigError(`${file}: no ${section} section (ZooKeeper's server reads its SASL users from it)`);
  return digestUsersOf(file, section, options);
}

function digestUsersOf(file: string, section: string, options: Map<string, string>): Map<string, string> {
  const users = new Map<string, string>();
  for (const [k, v] of options) if (k.startsWith('user_')) users.set(k.slice('user_'.length), v);
  if (users.size === 0) throw new JaasConfigError(`${file}: section ${section} has no user_<name>="<password>" entries`);
  return users;
}

/** Quorum SASL's accounts: the members one may authenticate as, and this member's own. */
export interface QuorumSaslAccounts {
  /** The server login context's user_<name>="<password>" entries. */
  users: Map<string, string>;
  /** The learner login context's username and password; read only when this member authenticates (learnerRequireSasl). */
  learner: { username: string; password: string } | undefined;
}

/**
 * The two login contexts quorum.auth.enableSasl needs, as ZooKeeper's QuorumPeer requires both
 * to exist. A Kerberos section is refused: zabkeeper's quorum SASL is DIGEST-MD5 only.
 */
export function loadQuorumSaslAccounts(file: string, serverSection: string, learnerSection: string, learnerRequired: boolean): QuorumSaslAccounts {
  const sections = readJaas(file);
  const section = (name: string, key: string): JaasSection => {
    const sec = sections.get(name);
    if (sec === undefined) throw new JaasConfigError(`${file}: no ${name} section (${key}; quorum.auth.enableSasl=true needs it)`);
    const kerberos = sec.modules.find((m) => /Krb5LoginModule$/.test(m));
    if (kerberos !== undefined) {
      throw new JaasConfigError(`${file}: section ${name} logs in with Kerberos (${kerberos}): quorum SASL with Kerberos (GSSAPI) is not supported by zabkeeper; use org.apache.zookeeper.server.auth.DigestLoginModule (DIGEST-MD5)`);
    }
    return sec;
  };
  const server = section(serverSection, 'quorum.auth.server.saslLoginContext');
  const learner = section(learnerSection, 'quorum.auth.learner.saslLoginContext');
  const users = digestUsersOf(file, serverSection, server.options);
  if (!learnerRequired) return { users, learner: undefined };
  const username = learner.options.get('username');
  const password = learner.options.get('password');
  if (username === undefined || password === undefined) {
    throw new JaasConfigError(`${file}: section ${learnerSection} needs username="<name>" and password="<password>" (this member's quorum SASL account)`);
  }
  return { users, learner: { username, password } };
}
