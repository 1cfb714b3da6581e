// The client side of SASL DIGEST-MD5 (RFC 2831, qop=auth only): answers a server's challenge and checks its rspauth.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { digestResponse, parseDirectives, SaslAuthError, type DigestParams } from './sasl-digest-md5.js';

/**
 * One exchange: evaluate(challenge) -> digest-response; evaluate(rspauth) -> empty and
 * `complete`. A server whose rspauth does not match does not know our password: SaslAuthError.
 */
export class DigestMd5Client {
  private step: 'initial' | 'responded' | 'done' = 'initial';
  private params: DigestParams | undefined;

  /** `service`/`serverName` make the digest-uri the server checks ("zookeeper-quorum/zk-quorum-sasl-md5"). */
  constructor(
    private readonly username: string,
    private readonly password: string,
    private readonly service: string,
    private readonly serverName: string,
    private readonly cnonce: string = randomBytes(24).toString('base64'),
  ) {}

  get complete(): boolean {
    return this.step === 'done';
  }

  evaluate(token: Buffer): Buffer {
    if (this.step === 'initial') return this.respond(token);
    if (this.step === 'done') throw new SaslAuthError('authentication already completed');
    const rspauth = parseDirectives(token.toString('utf8')).get('rspauth');
    if (rspauth === undefined) throw new SaslAuthError('the server sent no rspauth');
    const expected = digestResponse(this.params!, '');
    if (rspauth.length !== expected.length || !timingSafeEqual(Buffer.from(rspauth.toLowerCase()), Buffer.from(expected))) {
      throw new SaslAuthError('the server\'s rspauth does not match: it does not know our password');
    }
    this.step = 'done';
    return Buffer.alloc(0);
  }

  private respond(challenge: Buffer): Buffer {
    const d = parseDirectives(challenge.toString('utf8'));
    const nonce = d.get('nonce');
    if (nonce === undefined) throw new SaslAuthError('the challenge has no nonce');
    const qops = (d.get('qop') ?? 'auth').split(',').map((q) => q.trim());
    if (!qops.includes('auth')) throw new SaslAuthError(`the server offers no qop=auth (${qops.join(',')})`);
    const algorithm = d.get('algorithm');
    if (algorithm !== 'md5-sess') throw new SaslAuthError(`the challenge's algorithm is ${algorithm ?? 'missing'}, not md5-sess`);
    this.params = {
      username: this.username,
      realm: d.get('realm') ?? '',
      password: this.password,
      nonce,
      cnonce: this.cnonce,
      nc: '00000001',
      qop: 'auth',
      uri: `${this.service}/${this.serverName}`,
      authzid: undefined,
    };
    this.step = 'responded';
    const p = this.params;
    const q = (v: string): string => `"${v.replace(/(["\\])/g, '\\$1')}"`;
    return Buffer.from(
      `charset=utf-8,username=${q(p.username)},realm=${q(p.realm)},nonce=${q(p.nonce)},nc=${p.nc},cnonce=${q(p.cnonce)},` +
        `digest-uri=${q(p.uri)},maxbuf=65536,response=${digestResponse(p, 'AUTHENTICATE')},qop=${p.qop}`,
      'utf8',
    );
  }
}
