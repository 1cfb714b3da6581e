// Connect-string parsing and host rotation.

import { describe, expect, it } from 'vitest';
import { ErrorCode, ZooKeeperError } from '../../../src/jute/index.js';
import { HostList, parseConnectString } from '../../../src/client/host-list.js';

describe('parseConnectString', () => {
  it('hosts, ports and chroot', () => {
    expect(parseConnectString('a:1,b:2/app/x')).toEqual({
      hosts: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      chroot: '/app/x',
    });
  });

  it('default port 2181, IPv6 in brackets, spaces, "/" chroot means none', () => {
    expect(parseConnectString(' h , [::1]:2182 ,[fe80::1]/')).toEqual({
      hosts: [
        { host: 'h', port: 2181 },
        { host: '::1', port: 2182 },
        { host: 'fe80::1', port: 2181 },
      ],
      chroot: undefined,
    });
  });

  it('refuses an empty host list, bad ports and bad chroots with BADARGUMENTS', () => {
    for (const bad of ['', '/app', 'h:0', 'h:70000', 'h:x', 'h:1/app/', 'h:1/a//b', '[::1']) {
      let err: unknown;
      try {
        parseConnectString(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ZooKeeperError);
      expect((err as ZooKeeperError).code).toBe(ErrorCode.BADARGUMENTS);
    }
  });
});

describe('HostList', () => {
  const hosts = [1, 2, 3, 4].map((port) => ({ host: 'h', port }));

  it('shuffles once, then cycles through every host in that order', () => {
    const seq = [0.9, 0.1, 0.5];
    const list = new HostList(hosts, () => seq.shift() ?? 0);
    const order = list.hosts.map((h) => h.port);
    expect([...order].sort()).toEqual([1, 2, 3, 4]);
    const visited: number[] = [];
    const cycles: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      const n = list.next();
      visited.push(n.host.port);
      cycles.push(n.cycleCompleted);
    }
    expect(visited).toEqual([...order, ...order]);
    expect(cycles).toEqual([false, false, false, true, false, false, false, true]);
  });

  it('the shuffle depends on the random source (clients spread over the ensemble)', () => {
    const a = new HostList(hosts, () => 0).hosts.map((h) => h.port);
    const b = new HostList(hosts, () => 0.999).hosts.map((h) => h.port);
    expect(a).not.toEqual(b);
  });

  it('a single host is a cycle on its own', () => {
    const list = new HostList([{ host: 'x', port: 1 }]);
    expect(list.next()).toEqual({ host: { host: 'x', port: 1 }, cycleCompleted: true });
    expect(list.next().cycleCompleted).toBe(true);
  });
});
