// The sasl request (opcode 102) of a connection: runs its DIGEST-MD5 exchange and says what to
// answer, as ZooKeeperServer.processSasl does; a success makes the connection sasl:<user>.

import { ErrorCode } from '../jute/error-codes.js';
import type { Id } from '../jute/records.js';
import { DigestMd5Server, SaslAuthError } from './sasl-digest-md5.js';

export interface SaslOptions {
  /** user -> password, from the JAAS Server section. */
  users: ReadonlyMap<string, string>;
  /** zookeeper.superUser: this SASL user is also super. */
  superUser?: string;
  /** enforce.auth.schemes includes sasl: a failure answers SESSIONCLOSEDREQUIRESASLAUTH instead of AUTHFAILED. */
  required: boolean;
  /** zookeeper.allowSaslFailedClients: a failure keeps the connection, unauthenticated, unless SASL is required. */
  allowFailedClients?: boolean;
}

export type SaslStep =
  | { kind: 'continue'; token: Buffer }
  | { kind: 'authenticated'; token: Buffer; ids: Id[]; user: string }
  /** The connection is answered with `err` and closed. */
  | { kind: 'failed'; err: number; reason: string }
  /**
   * allowSaslFailedClients: answered OK without a token; the connection stays, unauthenticated.
   * `again`: the exchange had failed before; as ZooKeeper's failed SaslServer, it fails every
   * later token of the connection too.
   */
  | { kind: 'failedKept'; reason: string; again: boolean };

export class SaslAuthenticator {
  /** One exchange per connection, forgotten with it. */
  private readonly exchanges = new WeakMap<object, DigestMd5Server>();
  /** Connections kept after a failed exchange (allowSaslFailedClients). */
  private readonly failedKept = new WeakSet<object>();

  constructor(private readonly opts: SaslOptions) {}

  step(connection: object, token: Buffer): SaslStep {
    if (this.failedKept.has(connection)) return { kind: 'failedKept', reason: 'the SASL exchange already failed on this connection', again: true };
    let server = this.exchanges.get(connection);
    if (server === undefined) {
      server = new DigestMd5Server(this.opts.users);
      this.exchanges.set(connection, server);
    }
    try {
      const reply = server.evaluate(token);
      if (!server.complete) return { kind: 'continue', token: reply };
      this.exchanges.delete(connection);
      const user = server.authorizedId!;
      const ids: Id[] = [{ scheme: 'sasl', id: user }];
      if (this.opts.superUser !== undefined && user === this.opts.superUser) ids.push({ scheme: 'super', id: '' });
      return { kind: 'authenticated', token: reply, ids, user };
    } catch (err) {
      this.exchanges.delete(connection);
      if (!(err instanceof SaslAuthError)) throw err;
      if (this.opts.allowFailedClients === true && !this.opts.required) {
        this.failedKept.add(connection);
        return { kind: 'failedKept', reason: err.message, again: false };
      }
      return { kind: 'failed', err: this.opts.required ? ErrorCode.SESSIONCLOSEDREQUIRESASLAUTH : ErrorCode.AUTHFAILED, reason: err.message };
    }
  }
}
