// multiAddress.enabled: server.N lines with several `|`-separated addresses, what is refused
// without it, the reachability keys, and how /zookeeper/config prints such servers.

import { describe, expect, it } from 'vitest';
import { parseZooCfg, resolveServerConfig, serverAddresses } from '../../../src/server/config.js';
import { quorumConfigText } from '../../../src/server/quorum-config-text.js';

function resolve(cfg: string, env: NodeJS.ProcessEnv = {}) {
  return resolveServerConfig({ zooCfg: parseZooCfg(cfg), env, serverId: 1 });
}

const THREE = 'server.1=127.0.0.1:2888:3888|127.0.0.2:2889:3889\nserver.2=127.0.0.3:2888:3888\nserver.3=127.0.0.4:2888:3888';

describe('multiAddress.enabled', () => {
  it('is off by default and refuses a | in a server line naming the line and the key', () => {
    const c = resolve('dataDir=/d\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.2:2888:3888');
    expect(c.multiAddressEnabled).toBe(false);
    expect(c.servers[0]!.moreAddresses).toBeUndefined();
    expect(() => resolve(`dataDir=/d\n${THREE}`)).toThrow(
      'zoo.cfg line 2: server.1 lists several addresses separated by |, but the multiple address feature is disabled (set multiAddress.enabled=true)',
    );
    expect(() => resolve(`dataDir=/d\nmultiAddress.enabled=false\n${THREE}`)).toThrow(/line 3: server\.1 lists several addresses/);
  });

  it('reads every address of a line, the first listed first, from zoo.cfg, as zookeeper.multiAddress.enabled and from the env', () => {
    for (const c of [
      resolve(`dataDir=/d\nmultiAddress.enabled=true\n${THREE}`),
      resolve(`dataDir=/d\nzookeeper.multiAddress.enabled=true\n${THREE}`),
      resolve(`dataDir=/d\n${THREE}`, { ZABKEEPER_MULTI_ADDRESS_ENABLED: 'true' }),
    ]) {
      expect(c.multiAddressEnabled).toBe(true);
      expect(c.warnings).toEqual([]);
      const s1 = c.servers[0]!;
      expect(s1).toMatchObject({ id: 1, host: '127.0.0.1', quorumPort: 2888, electionPort: 3888, role: 'participant' });
      expect(serverAddresses(s1)).toEqual([
        { host: '127.0.0.1', quorumPort: 2888, electionPort: 3888 },
        { host: '127.0.0.2', quorumPort: 2889, electionPort: 3889 },
      ]);
      expect(serverAddresses(c.servers[1]!)).toEqual([{ host: '127.0.0.3', quorumPort: 2888, electionPort: 3888 }]);
    }
  });

  it('takes a type on any address, the client part after the last, IPv6 in brackets, and one address listed twice once', () => {
    const c = resolve(
      'dataDir=/d\nmultiAddress.enabled=true\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.2:2888:3888\n' +
        'server.3=[::1]:2890:3890:observer|10.0.0.3:2891:3891:observer|10.0.0.3:2891:3891;0.0.0.0:2183',
    );
    const s3 = c.servers[2]!;
    expect(s3.role).toBe('observer');
    expect(s3.clientPort).toBe(2183);
    expect(s3.clientAddress).toBe('0.0.0.0');
    expect(serverAddresses(s3)).toEqual([
      { host: '::1', quorumPort: 2890, electionPort: 3890 },
      { host: '10.0.0.3', quorumPort: 2891, electionPort: 3891 },
    ]);
    const typed = resolve('dataDir=/d\nmultiAddress.enabled=true\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.2:2888:3888|127.0.0.3:2888:3888:observer');
    expect(typed.servers[1]!.role).toBe('observer');
  });

  it('refuses addresses of one server with different types, a malformed address and equal ports, naming the line', () => {
    const on = 'dataDir=/d\nmultiAddress.enabled=true\nserver.2=127.0.0.9:2888:3888\n';
    expect(() => resolve(`${on}server.1=127.0.0.1:2888:3888:participant|127.0.0.2:2888:3888:observer`)).toThrow(
      'zoo.cfg line 4: server.1 gives its addresses different types (participant and observer); they must agree',
    );
    expect(() => resolve(`${on}server.1=127.0.0.1:2888:3888|127.0.0.2:2888`)).toThrow(
      /line 4: server\.1=127\.0\.0\.1:2888:3888\|127\.0\.0\.2:2888 does not have the form .* \(several host:port:port\[:type\] separated by \|\)/,
    );
    expect(() => resolve(`${on}server.1=127.0.0.1:2888:3888|`)).toThrow(/line 4: server\.1=.* does not have the form/);
    expect(() => resolve(`${on}server.1=127.0.0.1:2888:3888|127.0.0.2:2889:2889`)).toThrow('zoo.cfg line 4: server.1 quorum and election ports must differ');
    expect(() => resolve(`${on}server.1=127.0.0.1:2888:3888|127.0.0.2:2888:3888:leader`)).toThrow(/line 4: server\.1 has unknown type "leader"/);
  });

  it('reads the reachability check keys with ZooKeeper defaults (on, 1000 ms) and refuses bad values', () => {
    const d = resolve('dataDir=/d');
    expect(d.multiAddressReachabilityCheckEnabled).toBe(true);
    expect(d.multiAddressReachabilityCheckTimeoutMs).toBe(1000);
    const c = resolve('dataDir=/d\nmultiAddress.reachabilityCheckEnabled=false\nmultiAddress.reachabilityCheckTimeoutMs=250');
    expect(c.multiAddressReachabilityCheckEnabled).toBe(false);
    expect(c.multiAddressReachabilityCheckTimeoutMs).toBe(250);
    expect(c.warnings).toEqual([]);
    expect(() => resolve('dataDir=/d\nmultiAddress.reachabilityCheckTimeoutMs=soon')).toThrow(/line 2: multiAddress\.reachabilityCheckTimeoutMs must be an integer/);
    expect(() => resolve('dataDir=/d\nmultiAddress.enabled=maybe')).toThrow(/line 2: multiAddress\.enabled must be true or false/);
  });
});

describe('/zookeeper/config text of servers with several addresses', () => {
  it('sorts each server\'s addresses by host and joins them with |, as QuorumServer.toString', () => {
    const c = resolve(
      'dataDir=/d\nmultiAddress.enabled=true\n' +
        'server.1=127.0.0.2:2889:3889|127.0.0.1:2888:3888\n' +
        'server.2=localhost:2890:3890|127.0.0.5:2891:3891;2182\n' +
        'server.3=127.0.0.4:2892:3892:observer|127.0.0.3:2893:3893:observer',
    );
    expect(quorumConfigText(c.servers)).toBe(
      'server.1=127.0.0.1:2888:3888|127.0.0.2:2889:3889:participant\n' +
        'server.2=127.0.0.5:2891:3891|localhost:2890:3890:participant;0.0.0.0:2182\n' +
        'server.3=127.0.0.3:2893:3893|127.0.0.4:2892:3892:observer\n' +
        'version=0',
    );
  });
});
