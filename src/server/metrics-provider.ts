// ZooKeeper's PrometheusMetricsProvider endpoint: /metrics with ZooKeeper's metric names on metricsProvider.httpPort.

import http from 'node:http';
import type { Logger } from 'pino';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.js';

export interface MetricsProviderOptions {
  host: string;
  /** 0 picks a free port: read `port` after listen(). */
  port: number;
  metrics: { renderZooKeeperNames(): string };
  logger: Logger;
}

export class MetricsProviderServer {
  private readonly server: http.Server;
  private boundPort = 0;

  constructor(private readonly opts: MetricsProviderOptions) {
    this.server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics' && path !== '/') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics are at /metrics\n');
        return;
      }
      let body: string;
      try {
        body = this.opts.metrics.renderZooKeeperNames();
      } catch (err) {
        this.opts.logger.error({ err }, 'rendering metrics failed');
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        this.boundPort = typeof a === 'object' && a !== null ? a.port : this.opts.port;
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
