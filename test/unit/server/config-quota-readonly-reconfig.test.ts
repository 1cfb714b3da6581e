// zoo.cfg keys for quotas, read-only mode and reconfig: ZooKeeper's spellings, defaults and refusals.

import { describe, expect, it } from 'vitest';
import { ConfigError, parseZooCfg, resolveServerConfig } from '../../../src/server/config.js';

const resolve = (cfg: string, env: NodeJS.ProcessEnv = {}) => resolveServerConfig({ zooCfg: parseZooCfg(cfg), env });

describe('enforceQuota, readonlymode.enabled, reconfigEnabled', () => {
  it('default to ZooKeeper 3.8 defaults: no enforcement, no read-only mode, no reconfig', () => {
    const c = resolve('dataDir=/d');
    expect([c.enforceQuota, c.readOnlyModeEnabled, c.reconfigEnabled]).toEqual([false, false, false]);
    expect(c.extra).toEqual({});
  });

  it('take the zoo.cfg key, its zookeeper. and -D system-property spellings, and ZABKEEPER_* env', () => {
    expect(resolve('dataDir=/d\nenforceQuota=true').enforceQuota).toBe(true);
    expect(resolve('dataDir=/d\nzookeeper.enforceQuota=true').enforceQuota).toBe(true);
    expect(resolve('dataDir=/d\n-Dzookeeper.enforceQuota=true').enforceQuota).toBe(true);
    expect(resolve('dataDir=/d\nreadonlymode.enabled=true').readOnlyModeEnabled).toBe(true);
    expect(resolve('dataDir=/d\n-Dreadonlymode.enabled=true').readOnlyModeEnabled).toBe(true);
    expect(resolve('dataDir=/d', { ZABKEEPER_ENFORCE_QUOTA: 'true', ZABKEEPER_READONLYMODE_ENABLED: 'true' })).toMatchObject({ enforceQuota: true, readOnlyModeEnabled: true });
    expect(resolve('dataDir=/d\nreconfigEnabled=false').reconfigEnabled).toBe(false);
  });

  it('digest.enabled (zookeeper.digest.enabled) is on unless set to false, as in ZooKeeper 3.8', () => {
    expect(resolve('dataDir=/d').digestEnabled).toBe(true);
    expect(resolve('dataDir=/d\ndigest.enabled=false').digestEnabled).toBe(false);
    expect(resolve('dataDir=/d\n-Dzookeeper.digest.enabled=false').digestEnabled).toBe(false);
    expect(resolve('dataDir=/d', { ZABKEEPER_DIGEST_ENABLED: 'false' }).digestEnabled).toBe(false);
    expect(() => resolve('dataDir=/d\ndigest.enabled=off')).toThrow(/digest\.enabled must be true or false/);
  });

  it('refuse bad values and reconfigEnabled=true with the line that says so', () => {
    expect(() => resolve('dataDir=/d\nenforceQuota=maybe')).toThrow(/zoo\.cfg line 2: enforceQuota must be true or false, got "maybe"/);
    expect(() => resolve('dataDir=/d\nreadonlymode.enabled=2')).toThrow(ConfigError);
    expect(() => resolve('dataDir=/d\nreconfigEnabled=true')).toThrow(/zoo\.cfg line 2: reconfigEnabled=true is not supported/);
  });
});
