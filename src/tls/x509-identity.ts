// A peer certificate's subject as Java's X500Principal.getName() prints it (RFC 2253: most
// specific RDN first, comma-separated), the id ZooKeeper's x509 provider gives a TLS client.

import { X509Certificate } from 'node:crypto';

/** RFC 2253 escaping of one attribute value. */
function escapeValue(v: string): string {
  let out = v.replace(/([,+"\\<>;])/g, '\\$1');
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** node prints the subject one "KEY=value" per line in certificate order; RFC 2253 reverses it. */
export function subjectDn(raw: Buffer): string {
  const lines = new X509Certificate(raw).subject.split('\n').filter((l) => l !== '');
  return lines
    .map((line) => {
      const eq = line.indexOf('=');
      return `${line.slice(0, eq)}=${escapeValue(line.slice(eq + 1))}`;
    })
    .reverse()
    .join(',');
}
