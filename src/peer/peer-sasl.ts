// Quorum SASL (quorum.auth.*): DIGEST-MD5 between members, run on a peer connection right after its handshake frame.
//
// As ZooKeeper's QuorumAuth, on election and leader/learner connections alike, the side that
// dials is the "learner" and the side that accepts the "server":
// - a dialler authenticates only with learnerRequireSasl, and then drops a connection whose
//   other end does not complete the exchange (not enabled there, wrong password, no rspauth);
// - an acceptor with enableSasl runs the exchange a dialler asks for; one with serverRequireSasl
//   also refuses a dialler that does not ask. Without enableSasl, a dialler that asks is refused.
// So enableSasl alone (the first step of a rolling upgrade) authenticates nobody and accepts
// everyone. The wire exchange is zabkeeper's own: the handshake's `sasl` field opens it, then
// frames shaped like ZooKeeper's QuorumAuthPacket ({qsasl: status, token}) carry the tokens.

import type { Logger } from 'pino';
import type { PeerConnection } from './peer-connection.js';
import { DigestMd5Client } from '../server/sasl-digest-md5-client.js';
import { DigestMd5Server, SaslAuthError } from '../server/sasl-digest-md5.js';

/** ZooKeeper's quorum SASL protocol and server name: the digest-uri is "zookeeper-quorum/zk-quorum-sasl-md5". */
export const QUORUM_SASL_SERVICE = 'zookeeper-quorum';
export const QUORUM_SASL_SERVER_NAME = 'zk-quorum-sasl-md5';

/** QuorumAuth.Status. */
const IN_PROGRESS = 0;
const SUCCESS = 1;
const ERROR = -1;

interface SaslFrame {
  qsasl: number;
  token: Buffer;
}

export interface QuorumSaslOptions {
  /** quorum.auth.learnerRequireSasl: the QuorumLearner section's account; every dial authenticates with it. */
  learner?: { username: string; password: string };
  /** quorum.auth.enableSasl: the QuorumServer section's user_<name> accounts a dialler may authenticate as. */
  server?: {
    users: ReadonlyMap<string, string>;
    /** quorum.auth.serverRequireSasl: a dialler that does not authenticate is refused. */
    required: boolean;
  };
}

/** The peer broke the exchange (refused us, answered out of turn, never authenticated us). */
export class QuorumSaslError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuorumSaslError';
  }
}

function asFrame(msg: unknown): SaslFrame | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  const f = msg as Record<string, unknown>;
  if (typeof f.qsasl !== 'number' || !Buffer.isBuffer(f.token)) return undefined;
  return { qsasl: f.qsasl, token: f.token };
}

export class QuorumSasl {
  /** No quorum.auth.enableSasl: nobody authenticates, a dialler asking to is refused. */
  static readonly DISABLED = new QuorumSasl({});

  constructor(private readonly opts: QuorumSaslOptions) {}

  /** The handshake's `sasl` field when we dial, or undefined when we do not authenticate. */
  helloField(): Buffer | undefined {
    return this.opts.learner === undefined ? undefined : Buffer.alloc(0);
  }

  /**
   * Dialler, right after sending a handshake with helloField(): runs our side of the exchange
   * and calls proceed() once the peer accepted us and proved it knows our password; otherwise
   * logs why and destroys the connection. Without learnerRequireSasl, proceeds at once.
   */
  asLearner(conn: PeerConnection, timeoutMs: number, proceed: () => void): void {
    const creds = this.opts.learner;
    if (creds === undefined) {
      proceed();
      return;
    }
    const client = new DigestMd5Client(creds.username, creds.password, QUORUM_SASL_SERVICE, QUORUM_SASL_SERVER_NAME);
    conn.setDeadline(timeoutMs, 'quorum SASL authentication');
    conn.intercept = (msg) => {
      try {
        const f = asFrame(msg);
        if (f === undefined) throw new QuorumSaslError('the peer answered without authenticating us (quorum.auth.enableSasl is not on there)');
        if (f.qsasl === ERROR) throw new QuorumSaslError(`the peer refused us: ${f.token.length > 0 ? f.token.toString('utf8') : 'no reason given'}`);
        const reply = client.evaluate(f.token);
        if (f.qsasl === IN_PROGRESS) {
          conn.send({ qsasl: IN_PROGRESS, token: reply } satisfies SaslFrame);
          return;
        }
        if (f.qsasl !== SUCCESS || !client.complete) throw new QuorumSaslError(`unexpected status ${f.qsasl} in the exchange`);
      } catch (err) {
        if (!(err instanceof SaslAuthError || err instanceof QuorumSaslError)) throw err;
        conn.logger.error({ err, remote: conn.remote }, 'quorum SASL: authentication to the peer failed; closing the connection');
        conn.destroy();
        return;
      }
      conn.intercept = undefined;
      conn.clearDeadline();
      conn.logger.info({ remote: conn.remote, user: creds.username }, 'quorum SASL: authenticated to the peer');
      proceed();
    };
  }

  /**
   * Acceptor, after a valid handshake: admits the dialler (proceed()), authenticates it first
   * when it asks to, or refuses it (logged, connection closed) as the flags above say.
   */
  asServer(conn: PeerConnection, handshake: unknown, timeoutMs: number, proceed: () => void): void {
    const asked = (handshake as { sasl?: unknown }).sasl;
    const server = this.opts.server;
    if (!Buffer.isBuffer(asked)) {
      if (server?.required === true) {
        conn.logger.error({ remote: conn.remote }, 'quorum SASL: peer does not authenticate and quorum.auth.serverRequireSasl=true; closing the connection');
        conn.destroy();
        return;
      }
      proceed();
      return;
    }
    if (server === undefined) {
      conn.send({ qsasl: ERROR, token: Buffer.from('quorum.auth.enableSasl is not on there') } satisfies SaslFrame);
      conn.logger.warn({ remote: conn.remote }, 'quorum SASL: peer asks to authenticate but quorum.auth.enableSasl is not on here; closing the connection');
      conn.close();
      return;
    }
    const digest = new DigestMd5Server(server.users, { service: QUORUM_SASL_SERVICE, realm: QUORUM_SASL_SERVER_NAME });
    const step = (token: Buffer | undefined): void => {
      try {
        if (token === undefined) throw new QuorumSaslError('the peer sent something other than its next SASL token');
        const reply = digest.evaluate(token);
        if (!digest.complete) {
          conn.send({ qsasl: IN_PROGRESS, token: reply } satisfies SaslFrame);
          return;
        }
        conn.send({ qsasl: SUCCESS, token: reply } satisfies SaslFrame);
      } catch (err) {
        if (!(err instanceof SaslAuthError || err instanceof QuorumSaslError)) throw err;
        // The reason stays here: a prober learns no more than "refused" (no "no such user").
        conn.send({ qsasl: ERROR, token: Buffer.from('authentication failed (check the QuorumLearner username and password)') } satisfies SaslFrame);
        // ZooKeeper logs this at error only when it requires SASL; the dialler drops the connection either way.
        const log: Logger = conn.logger;
        log[server.required ? 'error' : 'warn']({ err, remote: conn.remote }, 'quorum SASL: authentication of the peer failed; closing the connection');
        conn.close();
        return;
      }
      conn.intercept = undefined;
      conn.clearDeadline();
      conn.logger.info({ remote: conn.remote, user: digest.authorizedId }, 'quorum SASL: peer authenticated');
      proceed();
    };
    conn.setDeadline(timeoutMs, 'quorum SASL authentication');
    conn.intercept = (msg) => step(asFrame(msg)?.token);
    step(asked);
  }
}
