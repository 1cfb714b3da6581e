// ClientConnection under throttle: requests read past the point the session layer throttled it wait, in order, and are handed over only once it is resumed.

import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferReader } from '../../../src/jute/buffer-reader.js';
import { BufferWriter } from '../../../src/jute/buffer-writer.js';
import { OpCode } from '../../../src/jute/opcodes.js';
import { readRequestHeader, writePathWatchRequest, writeRequestHeader } from '../../../src/jute/records.js';
import { ClientConnection, type SessionLayer } from '../../../src/server/client-connection.js';
import type { ClientSink } from '../../../src/server/client-sink.js';
import { RawZkSocket } from '../../helpers/raw-zk-socket.js';
import { waitFor } from '../../helpers/wait-for.js';

/** A session layer that records the xids handed to it and throttles the connection after every `every` requests. */
class ThrottlingLayer implements SessionLayer {
  readonly xids: number[] = [];
  sink: ClientSink | undefined;
  /** Set while inside a throttle(false) call: a request handed over then would re-enter the layer. */
  inThrottleCall = false;
  reentered = false;
  constructor(private readonly every: number) {}
  connect(_req: unknown, sink: ClientSink): Promise<{ response: { protocolVersion: number; timeOut: number; sessionId: bigint; passwd: Buffer; readOnly: boolean }; sessionId: number }> {
    this.sink = sink;
    return Promise.resolve({ response: { protocolVersion: 0, timeOut: 10_000, sessionId: 7n, passwd: Buffer.alloc(16), readOnly: false }, sessionId: 7 });
  }
  receive(_sessionId: number, _sink: ClientSink, frame: Buffer): void {
    if (this.inThrottleCall) this.reentered = true;
    this.xids.push(readRequestHeader(new BufferReader(frame)).xid);
    if (this.xids.length % this.every === 0) this.sink!.throttle(true);
  }
  resume(): void {
    this.inThrottleCall = true;
    this.sink!.throttle(false);
    this.inThrottleCall = false;
  }
  touches = 0;
  touch(): void {
    this.touches++;
  }
  disconnected(): void {}
}

describe('ClientConnection throttling', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  async function serve(layer: ThrottlingLayer): Promise<RawZkSocket> {
    const server = net.createServer((socket) => {
      new ClientConnection(socket, {
        server: layer,
        maxBufferBytes: 0xfffff,
        logger: pino({ level: 'silent' }),
        fourLetterWords: { enabled: () => false, execute: () => Promise.resolve('') },
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => server.close());
    const raw = await RawZkSocket.connect((server.address() as net.AddressInfo).port);
    cleanups.push(() => raw.destroy());
    await raw.handshake();
    return raw;
  }

  it('holds back the rest of a read once throttled, hands it over in order after resume, never from inside the resume call', async () => {
    const layer = new ThrottlingLayer(100);
    const raw = await serve(layer);
    // 1,000 requests in one write: most arrive in the same reads as the ones that throttle.
    const w = new BufferWriter(64 * 1024);
    for (let xid = 1; xid <= 1000; xid++) {
      const at = w.beginFrame();
      writeRequestHeader(w, xid, OpCode.exists);
      writePathWatchRequest(w, { path: '/x', watch: false });
      w.endFrame(at);
    }
    raw.write(w.toBuffer());
    for (let round = 1; round <= 10; round++) {
      await waitFor(() => layer.xids.length === round * 100, `request ${round * 100} handed over`);
      // Throttled: nothing more arrives however long we wait for the socket's data to be read.
      await new Promise((r) => setTimeout(r, 20));
      expect(layer.xids.length).toBe(round * 100);
      layer.resume();
      expect(layer.xids.length).toBe(round * 100);
    }
    expect(layer.reentered).toBe(false);
    // Throttled requests are not read by the session layer, so they do not touch the session (as ZooKeeper, which does not read them).
    expect(layer.touches).toBe(0);
    expect(layer.xids).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });
});
