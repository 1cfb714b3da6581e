// Digest ids under ZooKeeper's DigestAuthenticationProvider.digestAlg: the same ids its Java provider makes.

import { describe, expect, it } from 'vitest';
import { digestIdOf, UnknownDigestAlgorithmError } from '../../../src/jute/digest-id.js';
import { digestId } from '../../../src/client/index.js';

// From ZooKeeper 3.8's own generator: java -Dzookeeper.DigestAuthenticationProvider.digestAlg=<alg>
//   -cp zookeeper.jar org.apache.zookeeper.server.auth.DigestAuthenticationProvider alice:p:w
const FROM_ZOOKEEPER: [string, string][] = [
  ['SHA1', 'alice:MYkDlhgP3QYE0BAAjqjoYj4hcQA='],
  ['SHA', 'alice:MYkDlhgP3QYE0BAAjqjoYj4hcQA='],
  ['SHA-256', 'alice:gu1o3+ZLTi0yL9GNUNLxw1pwjcw0gSoCR013tj2JMLQ='],
  ['sha3-256', 'alice:tLQMtdt8riMLsCcMimaCF0/FPIgSVheIRDCT6nKJwdo='],
  ['SHA512/256', 'alice:TiJVkE3WCjIaAzoAjU41mSrT4/6fkMeeh3oTTKyzwA8='],
  ['MD5', 'alice:9ZsMZdOuVjJPfnW5Qmr7mw=='],
];

describe('digest ids', () => {
  it('match ZooKeeper for each algorithm name, its aliases and any case; the user ends at the first colon', () => {
    for (const [alg, id] of FROM_ZOOKEEPER) expect(digestIdOf('alice:p:w', alg), alg).toBe(id);
    expect(digestIdOf('alice:p:w')).toBe('alice:MYkDlhgP3QYE0BAAjqjoYj4hcQA=');
    expect(digestIdOf('alice:p:w', 'sha-1')).toBe(digestIdOf('alice:p:w', 'SHA1'));
    expect(digestIdOf('alice:p:w', 'SHA256')).toBe(digestIdOf('alice:p:w', 'SHA-256'));
  });

  it('the client helper takes the servers\' algorithm, SHA1 by default', () => {
    expect(digestId('alice', 'p:w')).toBe('alice:MYkDlhgP3QYE0BAAjqjoYj4hcQA=');
    expect(digestId('alice', 'p:w', 'SHA-256')).toBe('alice:gu1o3+ZLTi0yL9GNUNLxw1pwjcw0gSoCR013tj2JMLQ=');
  });

  it('refuses an algorithm it cannot compute, naming it and the ones it can', () => {
    expect(() => digestIdOf('alice:pw', 'RipeMD160')).toThrow(UnknownDigestAlgorithmError);
    expect(() => digestIdOf('alice:pw', 'MD2')).toThrow(/unknown digest algorithm "MD2" \(use one of SHA1, SHA-224, SHA-256/);
  });
});
