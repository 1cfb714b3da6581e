// SessionGuard: when a recipe must presume its session (and ephemeral nodes) gone.

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ZooKeeperClient } from '../../../../src/client/index.js';
import { SessionGuard } from '../../../../src/client/recipes/session-guard.js';
import { FakeClient } from './fake-client.js';

const asClient = (f: FakeClient): ZooKeeperClient => f as unknown as ZooKeeperClient;

describe('SessionGuard', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts at once when the session expires or the client closes', () => {
    for (const state of ['expired', 'closed', 'authFailed'] as const) {
      const fake = new FakeClient();
      const guard = new SessionGuard(asClient(fake));
      expect(guard.lost).toBe(false);
      fake.setState(state);
      expect(guard.lost).toBe(true);
      expect((guard.signal.reason as Error).message).toMatch(/expired/i);
    }
  });

  it('survives a disconnection shorter than the grace period and reports suspend/reconnect', () => {
    vi.useFakeTimers();
    const fake = new FakeClient();
    const seen: string[] = [];
    const guard = new SessionGuard(asClient(fake), { suspended: () => seen.push('suspended'), reconnected: () => seen.push('reconnected') });
    fake.setState('disconnected');
    vi.advanceTimersByTime(900);
    fake.setState('connected');
    vi.advanceTimersByTime(5000);
    expect(guard.lost).toBe(false);
    expect(seen).toEqual(['suspended', 'reconnected']);
  });

  it('presumes the session lost after a third of the timeout disconnected (or the given grace)', () => {
    vi.useFakeTimers();
    const fake = new FakeClient();
    const guard = new SessionGuard(asClient(fake));
    fake.setState('disconnected');
    vi.advanceTimersByTime(999);
    expect(guard.lost).toBe(false);
    vi.advanceTimersByTime(1);
    expect(guard.lost).toBe(true);

    const strict = new SessionGuard(asClient(new FakeClient()), { graceMs: 0 });
    (strict as unknown as { client: FakeClient }).client.setState('disconnected');
    vi.advanceTimersByTime(0);
    expect(strict.lost).toBe(true);
  });

  it('is aborted from the start on a dead client and silent after dispose', () => {
    const dead = new FakeClient();
    dead.state = 'closed';
    expect(new SessionGuard(asClient(dead)).lost).toBe(true);
    const fake = new FakeClient();
    const guard = new SessionGuard(asClient(fake));
    guard.dispose();
    fake.setState('expired');
    expect(guard.lost).toBe(false);
  });
});
