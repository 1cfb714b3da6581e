// The certificates of a PKCS#12 trust store (what keytool and `openssl pkcs12 -export -nokeys`
// write). node:tls loads a PKCS#12 only when it holds a private key, so trust stores are read here:
// DER walk, PBES2 (PBKDF2 + AES-CBC) or PKCS#12 PBE with 3DES, certificate bags out as PEM.

import { createDecipheriv, createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { TlsConfigError } from './tls-settings.js';

interface Der {
  tag: number;
  /** The value bytes (for constructed types, the encoded children). */
  body: Buffer;
}

function readDer(buf: Buffer, offset: number): { node: Der; next: number } {
  if (offset + 2 > buf.length) throw new Error('truncated DER');
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let at = offset + 2;
  if (len === 0x80) throw new Error('indefinite-length BER is not supported');
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4) throw new Error('DER length too large');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + i]!;
    at += n;
  }
  if (at + len > buf.length) throw new Error('truncated DER');
  return { node: { tag, body: buf.subarray(at, at + len) }, next: at + len };
}

function children(node: Der): Der[] {
  const out: Der[] = [];
  let at = 0;
  while (at < node.body.length) {
    const { node: child, next } = readDer(node.body, at);
    out.push(child);
    at = next;
  }
  return out;
}

function one(buf: Buffer): Der {
  return readDer(buf, 0).node;
}

function oid(node: Der): string {
  if (node.tag !== 0x06) throw new Error(`expected an OID, got tag 0x${node.tag.toString(16)}`);
  const b = node.body;
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

function int(node: Der): number {
  let v = 0;
  for (const byte of node.body) v = v * 256 + byte;
  return v;
}

/** An OCTET STRING, primitive or (BER) constructed from chunks; also for [0] IMPLICIT ones. */
function octets(node: Der): Buffer {
  if ((node.tag & 0x20) === 0) return node.body;
  return Buffer.concat(children(node).map(octets));
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbeSha3Des: '1.2.840.113549.1.12.1.3',
  pbeSha40Rc2: '1.2.840.113549.1.12.1.6',
} as const;

const PRF: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const AES: Record<string, { cipher: string; keyBytes: number }> = {
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes-128-cbc', keyBytes: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes-192-cbc', keyBytes: 24 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes-256-cbc', keyBytes: 32 },
};

/** Digests of the MacData's HMAC (and of its key's derivation), with their block size v. */
const MAC_DIGEST: Record<string, { hash: string; v: number }> = {
  '1.3.14.3.2.26': { hash: 'sha1', v: 64 },
  '2.16.840.1.101.3.4.2.1': { hash: 'sha256', v: 64 },
  '2.16.840.1.101.3.4.2.2': { hash: 'sha384', v: 128 },
  '2.16.840.1.101.3.4.2.3': { hash: 'sha512', v: 128 },
};

/** RFC 7292 appendix B.2 key derivation (SHA-1 unless told: u = 20, v = 64). */
function pkcs12Kdf(password: string, salt: Buffer, iterations: number, id: number, size: number, hash = 'sha1', v = 64): Buffer {
  const pw = password === '' ? Buffer.alloc(0) : Buffer.concat([Buffer.from(password, 'utf16le').swap16(), Buffer.alloc(2)]);
  const fill = (src: Buffer): Buffer => {
    const len = src.length === 0 ? 0 : v * Math.ceil(src.length / v);
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const I = Buffer.concat([fill(salt), fill(pw)]);
  const D = Buffer.alloc(v, id);
  const out: Buffer[] = [];
  let have = 0;
  while (have < size) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let i = 1; i < iterations; i++) A = createHash(hash).update(A).digest();
    out.push(A);
    have += A.length;
    const B = fill(A);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, size);
}

function decrypt(alg: Der, data: Buffer, password: string): Buffer {
  const [algOid, params] = children(alg);
  const name = oid(algOid!);
  if (name === OID.pbes2) {
    const [kdf, enc] = children(params!);
    const [kdfOid, kdfParams] = children(kdf!);
    if (oid(kdfOid!) !== OID.pbkdf2) throw new Error(`unsupported PBES2 key derivation ${oid(kdfOid!)}`);
    const kp = children(kdfParams!);
    const salt = kp[0]!.body;
    const iterations = int(kp[1]!);
    const prfNode = kp.find((n) => n.tag === 0x30);
    const digest = prfNode === undefined ? 'sha1' : PRF[oid(children(prfNode)[0]!)];
    const [encOid, iv] = children(enc!);
    const aes = AES[oid(encOid!)];
    if (digest === undefined || aes === undefined) throw new Error('unsupported PBES2 cipher or PRF');
    const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, aes.keyBytes, digest);
    const d = createDecipheriv(aes.cipher, key, iv!.body);
    return Buffer.concat([d.update(data), d.final()]);
  }
  if (name === OID.pbeSha3Des || name === OID.pbeSha40Rc2) {
    const [salt, iter] = children(params!);
    const iterations = int(iter!);
    const des = name === OID.pbeSha3Des;
    const key = pkcs12Kdf(password, salt!.body, iterations, 1, des ? 24 : 5);
    const iv = pkcs12Kdf(password, salt!.body, iterations, 2, 8);
    const d = createDecipheriv(des ? 'des-ede3-cbc' : 'rc2-40-cbc', key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  }
  throw new Error(`unsupported encryption ${name}`);
}

function certsOfSafeContents(der: Buffer, out: string[]): void {
  for (const bag of children(one(der))) {
    const [bagId, value] = children(bag);
    if (oid(bagId!) !== OID.certBag) continue;
    const [certId, certValue] = children(children(value!)[0]!);
    if (oid(certId!) !== OID.x509Certificate) continue;
    const cert = octets(children(certValue!)[0]!);
    const b64 = cert.toString('base64').replace(/.{64}/g, '$&\n');
    out.push(`-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`);
  }
}

class WrongPasswordError extends Error {}

/**
 * The file's integrity MAC (an HMAC keyed from the password), checked as keytool and openssl do
 * before decrypting: without it a wrong password was caught only when decryption happened to fail
 * its padding check, and otherwise (about one time in 256) surfaced as a DER error of the garbage.
 */
function checkMac(macData: Der, authSafeBytes: Buffer, password: string): void {
  const [digestInfo, salt, iterations] = children(macData);
  const [algorithm, expected] = children(digestInfo!);
  const name = oid(children(algorithm!)[0]!);
  const digest = MAC_DIGEST[name];
  if (digest === undefined) throw new Error(`unsupported MAC digest ${name}`);
  const want = octets(expected!);
  const key = pkcs12Kdf(password, salt!.body, iterations === undefined ? 1 : int(iterations), 3, want.length, digest.hash, digest.v);
  const got = createHmac(digest.hash, key).update(authSafeBytes).digest();
  if (!got.equals(want)) throw new WrongPasswordError('MAC mismatch');
}

/** PEM certificates of every certificate bag; `where` names the file in errors. */
export function pkcs12Certificates(pfx: Buffer, password: string, where: string): string[] {
  const out: string[] = [];
  try {
    const [, authSafe, macData] = children(one(pfx));
    const [type, content] = children(authSafe!);
    if (oid(type!) !== OID.data) throw new Error('signed (public-key integrity) PKCS#12 files are not supported');
    const authSafeBytes = octets(children(content!)[0]!);
    if (macData !== undefined) checkMac(macData, authSafeBytes, password);
    const safes = children(one(authSafeBytes));
    for (const ci of safes) {
      const [ciType, ciContent] = children(ci);
      const t = oid(ciType!);
      if (t === OID.data) certsOfSafeContents(octets(children(ciContent!)[0]!), out);
      else if (t === OID.encryptedData) {
        const [, eci] = children(children(ciContent!)[0]!);
        const [, alg, enc] = children(eci!);
        certsOfSafeContents(decrypt(alg!, octets(enc!), password), out);
      }
    }
  } catch (err) {
    const msg = (err as Error).message;
    const hint = err instanceof WrongPasswordError || /bad decrypt|wrong final block/i.test(msg) ? 'wrong trustStore.password?' : msg;
    throw new TlsConfigError(`${where}: cannot read the PKCS12 trust store (${hint}); a PEM file of CA certificates also works`);
  }
  return out;
}
