// Promise wrappers over node-zookeeper-client, the independent client integration tests judge us by.

import zookeeper from 'node-zookeeper-client';

// node-zookeeper-client ships no types; these are the parts the tests touch.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Nzc = any;

export { zookeeper };

export interface NzcEvent {
  type: number;
  name: string;
  path: string;
}

export class NzcClient {
  readonly raw: Nzc;

  private constructor(raw: Nzc) {
    this.raw = raw;
  }

  static connect(connectString: string, opts: { sessionTimeoutMs?: number } = {}): Promise<NzcClient> {
    const raw = zookeeper.createClient(connectString, { sessionTimeout: opts.sessionTimeoutMs ?? 10_000, spinDelay: 100, retries: 0 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        raw.close();
        reject(new Error(`node-zookeeper-client could not connect to ${connectString}`));
      }, 10_000);
      raw.once('connected', () => {
        clearTimeout(timer);
        resolve(new NzcClient(raw));
      });
      raw.connect();
    });
  }

  /** Session id as ZooKeeper prints it, without 0x. */
  sessionIdHex(): string {
    return BigInt('0x' + (this.raw.getSessionId() as Buffer).toString('hex')).toString(16);
  }

  private call<T>(fn: (cb: (err: any, ...rest: any[]) => void) => void, pick: (...rest: any[]) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      fn((err, ...rest) => (err ? reject(err) : resolve(pick(...rest))));
    });
  }

  create(path: string, data?: Buffer | null, mode: number = zookeeper.CreateMode.PERSISTENT, acls?: unknown[]): Promise<string> {
    return this.call(
      (cb) => this.raw.create(path, data ?? null, acls ?? zookeeper.ACL.OPEN_ACL_UNSAFE, mode, cb),
      (p: string) => p,
    );
  }

  getData(path: string, watcher?: (e: NzcEvent) => void): Promise<{ data: Buffer | null; stat: any }> {
    return this.call(
      (cb) => (watcher ? this.raw.getData(path, watcher, cb) : this.raw.getData(path, cb)),
      (data: Buffer | null, stat: any) => ({ data, stat }),
    );
  }

  setData(path: string, data: Buffer, version = -1): Promise<any> {
    return this.call((cb) => this.raw.setData(path, data, version, cb), (stat: any) => stat);
  }

  getChildren(path: string, watcher?: (e: NzcEvent) => void): Promise<string[]> {
    return this.call(
      (cb) => (watcher ? this.raw.getChildren(path, watcher, cb) : this.raw.getChildren(path, cb)),
      (children: string[]) => children,
    );
  }

  exists(path: string, watcher?: (e: NzcEvent) => void): Promise<any | null> {
    return this.call(
      (cb) => (watcher ? this.raw.exists(path, watcher, cb) : this.raw.exists(path, cb)),
      (stat: any) => stat ?? null,
    );
  }

  remove(path: string, version = -1): Promise<void> {
    return this.call((cb) => this.raw.remove(path, version, cb), () => undefined);
  }

  getACL(path: string): Promise<any[]> {
    return this.call((cb) => this.raw.getACL(path, cb), (acls: any[]) => acls);
  }

  addAuthInfo(scheme: string, auth: string): void {
    this.raw.addAuthInfo(scheme, Buffer.from(auth));
  }

  /** Runs a transaction built by `build` on nzc's Transaction object. */
  transaction(build: (t: Nzc) => Nzc): Promise<any[]> {
    return this.call((cb) => build(this.raw.transaction()).commit(cb), (results: any[]) => results);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const state = this.raw.getState();
      if (state === zookeeper.State.DISCONNECTED) {
        this.raw.close();
        resolve();
        return;
      }
      const timer = setTimeout(resolve, 2000);
      this.raw.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.raw.close();
    });
  }
}

/** The ZooKeeper error code carried by a node-zookeeper-client error. */
export function nzcCode(err: unknown): number | undefined {
  const e = err as { getCode?: () => number; code?: number };
  return typeof e.getCode === 'function' ? e.getCode() : e.code;
}
