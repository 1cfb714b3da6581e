// The server side of SASL DIGEST-MD5 (RFC 2831, qop=auth only), as ZooKeeper's server runs it:
// realm "zk-sasl-md5", service "zookeeper"; on success the session is sasl:<user>.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** ZooKeeper's server name for DIGEST-MD5 (its SaslServer is created for zookeeper/zk-sasl-md5). */
export const DIGEST_REALM = 'zk-sasl-md5';
const SERVICE = 'zookeeper';

export class SaslAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslAuthError';
  }
}

function md5(...parts: Array<string | Buffer>): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

function hex(b: Buffer): string {
  return b.toString('hex');
}

/** What both sides of one exchange hash (RFC 2831 section 2.1.2.1). */
export interface DigestParams {
  username: string;
  realm: string;
  password: string;
  nonce: string;
  cnonce: string;
  nc: string;
  qop: string;
  uri: string;
  authzid: string | undefined;
}

/**
 * The response-value: with method "AUTHENTICATE" the client's response, with "" the server's
 * rspauth (which proves the server knows the password too).
 */
export function digestResponse(p: DigestParams, method: string): string {
  const a1 = Buffer.concat([md5(`${p.username}:${p.realm}:${p.password}`), Buffer.from(`:${p.nonce}:${p.cnonce}${p.authzid !== undefined ? `:${p.authzid}` : ''}`, 'utf8')]);
  const ha1 = hex(md5(a1));
  return hex(md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${hex(md5(`${method}:${p.uri}`))}`));
}

/** name=value pairs, values optionally quoted with backslash escapes (RFC 2831 section 7.1). */
export function parseDirectives(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\s*([A-Za-z0-9-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < text.length && (m = re.exec(text)) !== null) {
    const key = m[1]!.toLowerCase();
    if (out.has(key)) throw new SaslAuthError(`directive ${key} appears twice`);
    out.set(key, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
    at = re.lastIndex;
    if (m[0].length === 0) break;
  }
  if (text.slice(at).trim() !== '') throw new SaslAuthError('malformed digest-response');
  return out;
}

/**
 * One authentication exchange: evaluate(empty) -> challenge; evaluate(digest-response) ->
 * rspauth and `authorizedId` set; anything wrong throws SaslAuthError.
 */
export class DigestMd5Server {
  private readonly nonce: string;
  private readonly service: string;
  private readonly realm: string;
  private step: 'initial' | 'challenged' | 'done' = 'initial';
  authorizedId: string | undefined;

  /**
   * `names` sets the service and realm (the quorum's differ from the client port's); a fixed
   * nonce is for checking against RFC 2831's worked example.
   */
  constructor(
    private readonly users: ReadonlyMap<string, string>,
    names?: { nonce?: string; service?: string; realm?: string },
  ) {
    this.nonce = names?.nonce ?? randomBytes(24).toString('base64');
    this.service = names?.service ?? SERVICE;
    this.realm = names?.realm ?? DIGEST_REALM;
  }

  get complete(): boolean {
    return this.step === 'done';
  }

  evaluate(token: Buffer): Buffer {
    if (this.step === 'initial') {
      this.step = 'challenged';
      // A client with an initial response would send its digest-response first; DIGEST-MD5 has none.
      return Buffer.from(`realm="${this.realm}",nonce="${this.nonce}",qop="auth",charset=utf-8,algorithm=md5-sess`, 'utf8');
    }
    if (this.step === 'done') throw new SaslAuthError('authentication already completed');
    const d = parseDirectives(token.toString('utf8'));
    const username = d.get('username');
    const nonce = d.get('nonce');
    const cnonce = d.get('cnonce');
    const nc = d.get('nc');
    const qop = d.get('qop') ?? 'auth';
    const uri = d.get('digest-uri');
    const response = d.get('response');
    const realm = d.get('realm') ?? '';
    const authzid = d.get('authzid');
    if (username === undefined || nonce === undefined || cnonce === undefined || nc === undefined || uri === undefined || response === undefined) {
      throw new SaslAuthError('digest-response lacks a required directive');
    }
    if (nonce !== this.nonce) throw new SaslAuthError('nonce does not match');
    if (qop !== 'auth') throw new SaslAuthError(`qop ${qop} is not offered`);
    if (nc !== '00000001') throw new SaslAuthError(`unexpected nonce count ${nc}`);
    if (!uri.toLowerCase().startsWith(`${this.service}/`)) throw new SaslAuthError(`digest-uri ${uri} is not for the ${this.service} service`);
    const password = this.users.get(username);
    if (password === undefined) throw new SaslAuthError(`no such user ${username}`);
    const params: DigestParams = { username, realm, password, nonce, cnonce, nc, qop, uri, authzid };
    const expected = digestResponse(params, 'AUTHENTICATE');
    if (response.length !== expected.length || !timingSafeEqual(Buffer.from(response.toLowerCase()), Buffer.from(expected))) {
      throw new SaslAuthError(`wrong password for user ${username}`);
    }
    // ZooKeeper's callback handler authorizes the authenticated user as itself.
    if (authzid !== undefined && authzid !== '' && authzid !== username) throw new SaslAuthError(`user ${username} may not act as ${authzid}`);
    this.authorizedId = username;
    this.step = 'done';
    return Buffer.from(`rspauth=${digestResponse(params, '')}`, 'utf8');
  }
}
