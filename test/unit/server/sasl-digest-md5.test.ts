// DIGEST-MD5's server side against RFC 2831's worked example, its refusals, and the JAAS parser.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/jute/error-codes.js';
import { loadDigestUsers, parseJaas } from '../../../src/server/jaas-config.js';
import { SaslAuthenticator } from '../../../src/server/sasl-auth.js';
import { DigestMd5Server, parseDirectives, SaslAuthError } from '../../../src/server/sasl-digest-md5.js';

// RFC 2831 section 4: chris / secret at elwood.innosoft.com, IMAP.
const RFC_RESPONSE =
  'charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,' +
  'cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,qop=auth';

function rfcServer(password = 'secret'): DigestMd5Server {
  const s = new DigestMd5Server(new Map([['chris', password]]), { nonce: 'OA6MG9tEQGm2hh', service: 'imap' });
  s.evaluate(Buffer.alloc(0));
  return s;
}

describe('DIGEST-MD5 server', () => {
  it("accepts RFC 2831's example response and answers its rspauth", () => {
    const s = rfcServer();
    expect(s.evaluate(Buffer.from(RFC_RESPONSE)).toString()).toBe('rspauth=ea40f60335c427b5527b84dbabcdfffd');
    expect(s.complete).toBe(true);
    expect(s.authorizedId).toBe('chris');
  });

  it('offers qop=auth in ZooKeeper\'s realm, with a fresh nonce each time', () => {
    const a = new DigestMd5Server(new Map()).evaluate(Buffer.alloc(0)).toString();
    const b = new DigestMd5Server(new Map()).evaluate(Buffer.alloc(0)).toString();
    expect(a).toMatch(/^realm="zk-sasl-md5",nonce="[^"]+",qop="auth",charset=utf-8,algorithm=md5-sess$/);
    expect(parseDirectives(a).get('nonce')).not.toBe(parseDirectives(b).get('nonce'));
  });

  it('refuses a wrong password, an unknown user, a replayed nonce, another service and garbage', () => {
    expect(() => rfcServer('not-secret').evaluate(Buffer.from(RFC_RESPONSE))).toThrow(/wrong password for user chris/);
    expect(() => rfcServer().evaluate(Buffer.from(RFC_RESPONSE.replace('"chris"', '"eve"')))).toThrow(/no such user eve/);
    expect(() => rfcServer().evaluate(Buffer.from(RFC_RESPONSE.replace('OA6MG9tEQGm2hh', 'OLDNONCE')))).toThrow(/nonce does not match/);
    expect(() => rfcServer().evaluate(Buffer.from(RFC_RESPONSE.replace('imap/', 'smtp/')))).toThrow(/not for the imap service/);
    expect(() => rfcServer().evaluate(Buffer.from('username="chris",,,"'))).toThrow(SaslAuthError);
    expect(() => rfcServer().evaluate(Buffer.from('username="chris"'))).toThrow(/lacks a required directive/);
  });

  it('the authenticator answers AUTHFAILED, or SESSIONCLOSEDREQUIRESASLAUTH when sasl is enforced', () => {
    const conn = {};
    const auth = new SaslAuthenticator({ users: new Map([['bob', 'pw']]), required: false });
    expect(auth.step(conn, Buffer.alloc(0)).kind).toBe('continue');
    expect(auth.step(conn, Buffer.from('username="bob"'))).toMatchObject({ kind: 'failed', err: ErrorCode.AUTHFAILED });
    const enforced = new SaslAuthenticator({ users: new Map(), required: true });
    enforced.step(conn, Buffer.alloc(0));
    expect(enforced.step(conn, Buffer.from('x=1'))).toMatchObject({ kind: 'failed', err: ErrorCode.SESSIONCLOSEDREQUIRESASLAUTH });
  });

  it('allowSaslFailedClients keeps a failed connection, failing its every later token; never when sasl is required', () => {
    const conn = {};
    const auth = new SaslAuthenticator({ users: new Map([['bob', 'pw']]), required: false, allowFailedClients: true });
    auth.step(conn, Buffer.alloc(0));
    expect(auth.step(conn, Buffer.from('username="bob"'))).toMatchObject({ kind: 'failedKept', again: false });
    // A fresh start on the same connection does not get a new challenge: ZooKeeper's SaslServer stays failed.
    expect(auth.step(conn, Buffer.alloc(0))).toMatchObject({ kind: 'failedKept', again: true });
    // Another connection starts afresh.
    expect(auth.step({}, Buffer.alloc(0)).kind).toBe('continue');
    const required = new SaslAuthenticator({ users: new Map(), required: true, allowFailedClients: true });
    required.step(conn, Buffer.alloc(0));
    expect(required.step(conn, Buffer.from('x=1'))).toMatchObject({ kind: 'failed', err: ErrorCode.SESSIONCLOSEDREQUIRESASLAUTH });
  });
});

describe('JAAS file', () => {
  it('reads the Server section users, with comments and several sections', () => {
    const text = `// comment\nClient {\n  org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="x";\n};\n/* block */ Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  user_super="admin secret"\n  user_bob="b\\"ob";\n};\n`;
    const sections = parseJaas(text, 'jaas.conf');
    expect([...sections.keys()]).toEqual(['Client', 'Server']);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zabkeeper-jaas-'));
    try {
      const f = path.join(dir, 'jaas.conf');
      writeFileSync(f, text);
      expect(loadDigestUsers(f)).toEqual(new Map([['super', 'admin secret'], ['bob', 'b"ob']]));
      expect(() => loadDigestUsers(f, 'QuorumServer')).toThrow(/no QuorumServer section/);
      writeFileSync(f, 'Server { broken');
      expect(() => loadDigestUsers(f)).toThrow(/cannot parse/);
      expect(() => loadDigestUsers(path.join(dir, 'missing.conf'))).toThrow(/cannot read JAAS file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
