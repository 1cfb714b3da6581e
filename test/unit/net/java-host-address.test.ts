// Client addresses printed as Java prints them (the expected values are jshell's InetAddress.getByName(a).getHostAddress()).

import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { javaHostAddress } from '../../../src/net/java-host-address.js';
import { hostOf } from '../../../src/server/auth-provider.js';
import { formatRemote } from '../../../src/server/client-connection.js';

describe('javaHostAddress', () => {
  it('writes IPv6 out in full, lowercase, without leading zeros, as Inet6Address.getHostAddress', () => {
    const java: [string, string][] = [
      ['::1', '0:0:0:0:0:0:0:1'],
      ['::', '0:0:0:0:0:0:0:0'],
      ['1::', '1:0:0:0:0:0:0:0'],
      ['2001:DB8::0:1', '2001:db8:0:0:0:0:0:1'],
      ['::1.2.3.4', '0:0:0:0:0:0:102:304'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
      ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1%eth0'],
    ];
    for (const [node, expected] of java) expect(javaHostAddress(node), node).toBe(expected);
  });

  it('reads IPv4-mapped IPv6 (a dual-stack socket\'s IPv4 client) as IPv4, leaves IPv4 and non-addresses alone', () => {
    expect(javaHostAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(javaHostAddress('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(javaHostAddress('10.1.2.3')).toBe('10.1.2.3');
    expect(javaHostAddress('unknown')).toBe('unknown');
  });

  it('is the form of the ip auth id (whoAmI: "ip: 0:0:0:0:0:0:0:1") and of cons ("/[0:0:0:0:0:0:0:1]:55034")', () => {
    expect(hostOf('[::1]:2181')).toBe('0:0:0:0:0:0:0:1');
    expect(formatRemote({ remoteAddress: '::1', remotePort: 55034 } as Socket)).toBe('[0:0:0:0:0:0:0:1]:55034');
    expect(formatRemote({ remoteAddress: '::ffff:10.0.0.7', remotePort: 9 } as Socket)).toBe('10.0.0.7:9');
  });
});
