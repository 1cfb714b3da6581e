// Broadcast frames: PROPOSAL/ACK/COMMIT/SNAPPART round-trip through the peer framing in their binary
// layout, a PROPOSAL carries the txn's log bytes, and malformed ones are refused as bad input.

import { describe, expect, it } from 'vitest';
import { BROADCAST_FRAME_MARK } from '../../../src/peer/broadcast-frames.js';
import { decodePeerFrameBody, encodePeerFrame, PeerDecodeError, PeerFrameDecoder } from '../../../src/peer/peer-frame.js';
import { encodedTxn } from '../../../src/storage/txn-codec.js';
import type { Txn } from '../../../src/tree/txn.js';

const zxid = 2 ** 32 * 3 + 17;
const txn: Txn = {
  hdr: { sessionId: 0x1_0000_0042, cxid: 9, zxid, time: 1_764_000_000_000 },
  op: { type: 'create', path: '/p/n', data: Buffer.from('hello'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], kind: 'ephemeral', ephemeralOwner: 0x1_0000_0042, ttlMs: 0, parentCVersion: 4 },
};

function body(msg: unknown): Buffer {
  return encodePeerFrame(msg).subarray(4);
}

describe('broadcast frames', () => {
  it('round-trip PROPOSAL, ACK and COMMIT in the binary layout', () => {
    const proposal = { type: 'PROPOSAL', txn: { zxid, payload: txn } };
    const ack = { type: 'ACK', zxid, newLeader: true };
    const commit = { type: 'COMMIT', zxid };
    for (const msg of [proposal, ack, commit, { ...ack, newLeader: false }]) {
      const b = body(msg);
      expect(b[0]).toBe(BROADCAST_FRAME_MARK);
      expect(decodePeerFrameBody(b)).toEqual(msg);
    }
    expect(body(commit).length).toBe(10);
  });

  it("round-trip a SNAP's chunk (SNAPPART): its bytes behind the prefix, as they were", () => {
    const chunk = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
    const part = { type: 'SNAPPART', zxid, chunk };
    const b = body(part);
    expect(b[0]).toBe(BROADCAST_FRAME_MARK);
    expect(b.length).toBe(10 + chunk.length);
    expect(decodePeerFrameBody(b)).toEqual(part);
    // Decoded from a reused buffer (not stable), the chunk is a copy; from a stable one, a view.
    expect((decodePeerFrameBody(b, true) as { chunk: Buffer }).chunk.buffer).toBe(b.buffer);
    expect((decodePeerFrameBody(b, false) as { chunk: Buffer }).chunk.buffer).not.toBe(b.buffer);
    // An empty chunk is still a frame; a chunk that is not bytes is not a SNAPPART frame.
    expect(decodePeerFrameBody(body({ type: 'SNAPPART', zxid, chunk: Buffer.alloc(0) }))).toEqual({ type: 'SNAPPART', zxid, chunk: Buffer.alloc(0) });
    expect(body({ type: 'SNAPPART', zxid, chunk: 'text' })[0]).not.toBe(BROADCAST_FRAME_MARK);
  });

  it('round-trip a forwarded client write (REQUEST) with its auth ids and raw body', () => {
    const forwarded = {
      type: 'REQUEST',
      payload: { sessionId: 0x1_0000_0042, cxid: 77, authIds: [{ scheme: 'ip', id: '127.0.0.1' }, { scheme: 'digest', id: 'ünï:x' }], type: 1, body: Buffer.from([0, 0, 0, 2, 47, 97]) },
    };
    const b = body(forwarded);
    expect(b[0]).toBe(BROADCAST_FRAME_MARK);
    expect(decodePeerFrameBody(b)).toEqual(forwarded);
    for (let n = 10; n < b.length - 6; n++) {
      const cut = b.subarray(0, n);
      expect(() => decodePeerFrameBody(cut), `cut at ${n}`).toThrow(PeerDecodeError);
    }
    // A server-made write carries its decoded request: it keeps using msgpack.
    const serverMade = { type: 'REQUEST', payload: { sessionId: 5, cxid: 0, authIds: [], type: -10, req: { type: -10, timeoutMs: 4000 } } };
    expect(body(serverMade)[0]).not.toBe(BROADCAST_FRAME_MARK);
    expect(decodePeerFrameBody(body(serverMade))).toEqual(serverMade);
  });

  it("REQUESTs with the auth ids of the one before share its decoded list; other ids, even undecodable UTF-8, decode on their own", () => {
    const req = (cxid: number, authIds: { scheme: string; id: string }[], body = Buffer.from([cxid])) => ({ type: 'REQUEST', payload: { sessionId: 9, cxid, authIds, type: 5, body } });
    type Decoded = { payload: { authIds: unknown[]; body: Buffer; cxid: number } };
    const ids = [{ scheme: 'ip', id: '10.0.0.1' }, { scheme: 'sasl', id: 'bob' }];
    const first = decodePeerFrameBody(body(req(1, ids))) as Decoded;
    const second = decodePeerFrameBody(body(req(2, [...ids], Buffer.from([7, 7])))) as Decoded;
    expect(second).toEqual(req(2, ids, Buffer.from([7, 7])));
    expect(second.payload.authIds).toBe(first.payload.authIds);
    // One id fewer, or another id of the same length: their own lists.
    for (const other of [[ids[0]!], [ids[0]!, { scheme: 'sasl', id: 'eve' }], []]) {
      const d = decodePeerFrameBody(body(req(3, other))) as Decoded;
      expect(d).toEqual(req(3, other));
    }
    // An id whose bytes are not UTF-8: the body still starts where the length prefixes say.
    const frame = Buffer.from(body(req(4, [{ scheme: 'x', id: 'ab' }], Buffer.from([1, 2, 3]))));
    const at = frame.indexOf(Buffer.from('ab'));
    frame[at] = 0xff;
    frame[at + 1] = 0xfe;
    const bad = decodePeerFrameBody(frame) as Decoded;
    expect([...bad.payload.body]).toEqual([1, 2, 3]);
    expect(bad.payload.authIds).toEqual([{ scheme: 'x', id: '\ufffd\ufffd' }]);
  });

  it('a PROPOSAL carries exactly the bytes the log stores for its txn, and the receiver logs those bytes', () => {
    const b = body({ type: 'PROPOSAL', txn: { zxid, payload: txn } });
    const logBytes = encodedTxn(txn);
    expect(b.subarray(10).equals(logBytes)).toBe(true);
    const received = decodePeerFrameBody(b) as { txn: { payload: Txn } };
    expect(encodedTxn(received.txn.payload).equals(logBytes)).toBe(true);
  });

  it('the same proposal sent to several followers is one frame; the next txn gets its own', () => {
    const first = encodePeerFrame({ type: 'PROPOSAL', txn: { zxid, payload: txn } });
    const again = encodePeerFrame({ type: 'PROPOSAL', txn: { zxid, payload: txn } });
    expect(again).toBe(first);
    const next: Txn = { ...txn, hdr: { ...txn.hdr, zxid: zxid + 1 } };
    const other = encodePeerFrame({ type: 'PROPOSAL', txn: { zxid: zxid + 1, payload: next } });
    expect(other).not.toBe(first);
    expect((decodePeerFrameBody(other.subarray(4)) as { txn: { zxid: number } }).txn.zxid).toBe(zxid + 1);
    expect((decodePeerFrameBody(first.subarray(4)) as { txn: { zxid: number } }).txn.zxid).toBe(zxid);
  });

  it('decodes when frames arrive split anywhere and interleaved with msgpack frames', () => {
    const msgs = [
      { type: 'PROPOSAL', txn: { zxid, payload: txn } },
      { type: 'PING', round: 3 },
      { type: 'COMMIT', zxid },
      { type: 'ACK', zxid: zxid + 1, newLeader: false },
    ];
    const all = Buffer.concat(msgs.map((m) => encodePeerFrame(m)));
    for (let cut = 1; cut < all.length; cut += 7) {
      const out: unknown[] = [];
      const dec = new PeerFrameDecoder();
      dec.push(all.subarray(0, cut), (m) => out.push(m));
      dec.push(all.subarray(cut), (m) => out.push(m));
      expect(out).toEqual(msgs);
    }
  });

  it("a decoder of stable chunks keeps views of the chunk; a frame completed in the decoder's own buffer is copied out", () => {
    const proposal = { type: 'PROPOSAL', txn: { zxid, payload: txn } };
    const forwarded = { type: 'REQUEST', payload: { sessionId: 7, cxid: 3, type: 5, authIds: [], body: Buffer.from([1, 2, 3, 4]) } };
    const frames = [encodePeerFrame(proposal), encodePeerFrame(forwarded)];
    type Received = { txn?: { payload: Txn }; payload?: { body: Buffer } };
    const bytesOf = (m: Received): Buffer => (m.txn ? (m.txn.payload.op as { data: Buffer }).data : m.payload!.body);
    /** A chunk in an ArrayBuffer of its own (small Buffer.from copies share Node's pool). */
    const ownChunk = (b: Buffer): Buffer => {
      const c = Buffer.alloc(b.length);
      b.copy(c);
      return c;
    };

    // Straight from a chunk: views of it (no copy), equal to what was sent.
    const chunk = ownChunk(Buffer.concat(frames));
    const viewed: Received[] = [];
    new PeerFrameDecoder(undefined, true).push(chunk, (m) => viewed.push(m as Received));
    expect(viewed).toEqual([proposal, forwarded]);
    for (const m of viewed) expect(bytesOf(m).buffer).toBe(chunk.buffer);

    // Split frames are assembled in the decoder's reused buffer: what comes out must not change
    // when that buffer takes the next partial frame, nor when the caller rewrites its chunks.
    const dec = new PeerFrameDecoder(undefined, true);
    const out: Received[] = [];
    const parts: Buffer[] = [];
    // The second round's frames differ in their bytes, so an overwritten view would show.
    const proposal2 = { type: 'PROPOSAL', txn: { zxid: zxid + 1, payload: { hdr: { ...txn.hdr, zxid: zxid + 1 }, op: { ...txn.op, data: Buffer.from('world') } } } };
    const forwarded2 = { type: 'REQUEST', payload: { ...forwarded.payload, cxid: 4, body: Buffer.from([9, 9, 9, 9]) } };
    const rounds = [frames, [encodePeerFrame(proposal2), encodePeerFrame(forwarded2)]];
    for (const roundFrames of rounds) {
      for (const f of roundFrames) {
        const cut = f.length - 3;
        for (const part of [f.subarray(0, cut), f.subarray(cut)]) {
          const c = ownChunk(part);
          parts.push(c);
          dec.push(c, (m) => out.push(m as Received));
        }
      }
    }
    for (const c of parts) c.fill(0xee);
    expect(out).toEqual([proposal, forwarded, proposal2, forwarded2]);
    for (const m of out) expect(parts.some((c) => c.buffer === bytesOf(m).buffer)).toBe(false);

    // The default decoder copies even from a chunk.
    const copied: Received[] = [];
    const mine = ownChunk(Buffer.concat(frames));
    new PeerFrameDecoder().push(mine, (m) => copied.push(m as Received));
    mine.fill(0xee);
    expect(copied).toEqual([proposal, forwarded]);
  });

  it('messages of another shape keep using msgpack and round-trip unchanged', () => {
    for (const msg of [
      { type: 'PROPOSAL', txn: { zxid: 5, payload: 'not a txn' } },
      { type: 'PROPOSAL', txn: { zxid: zxid + 1, payload: txn } },
      { type: 'ACK', zxid: 1.5, newLeader: false },
      { type: 'COMMIT', zxid: '7' },
      { type: 'ACK', i: 1 },
      // A REQUEST with a field the binary layout does not carry, or an auth id with one.
      { type: 'REQUEST', payload: { sessionId: 1, cxid: 2, type: 1, authIds: [], body: Buffer.from([1]), extra: true } },
      { type: 'REQUEST', payload: { sessionId: 1, cxid: 2, type: 1, authIds: [{ scheme: 'ip', id: '127.0.0.1', x: 1 }], body: Buffer.from([1]) } },
    ]) {
      const b = body(msg);
      expect(b[0]).not.toBe(BROADCAST_FRAME_MARK);
      expect(decodePeerFrameBody(b)).toEqual(msg);
    }
  });

  it('refuses malformed broadcast frames as bad peer input', () => {
    const proposal = body({ type: 'PROPOSAL', txn: { zxid, payload: txn } });
    const wrongZxid = Buffer.from(proposal);
    wrongZxid.writeDoubleBE(zxid + 1, 2);
    // Auth ids unlike any decoded before (a matching cached list would skip their parsing).
    const request = body({ type: 'REQUEST', payload: { sessionId: 7, cxid: 1, type: 5, authIds: [{ scheme: 'digest', id: 'eve:x' }], body: Buffer.from([1, 2, 3]) } });
    // Where cxid starts: before it, the prefix; after it, type, then the ids (4 + 10 + 9 bytes) and the request.
    const requestAt = request.length - 3 - 23 - 8;
    const badCount = Buffer.from(request);
    badCount.writeInt32BE(-1, requestAt + 8);
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from([BROADCAST_FRAME_MARK, 3]), /too short/],
      [Buffer.concat([Buffer.from([BROADCAST_FRAME_MARK, 9]), Buffer.alloc(8)]), /unknown broadcast frame kind 9/],
      [Buffer.concat([body({ type: 'COMMIT', zxid }), Buffer.from([1])]), /COMMIT frame of the wrong size/],
      [body({ type: 'COMMIT', zxid }).subarray(0, 10).fill(0xff, 2), /bad zxid/],
      [Buffer.concat([Buffer.from([BROADCAST_FRAME_MARK, 5]), Buffer.alloc(8, 0xff), Buffer.from([1, 2])]), /bad zxid/],
      [proposal.subarray(0, proposal.length - 3), /PROPOSAL: malformed binary txn/],
      [wrongZxid, /carries a txn of zxid/],
      // A REQUEST cut in its header, in an auth id's text, in an auth id's length; one whose id
      // count the rest cannot hold, or negative.
      [request.subarray(0, requestAt + 6), /REQUEST frame is truncated/],
      [request.subarray(0, requestAt + 20), /REQUEST frame is truncated/],
      [request.subarray(0, requestAt + 24), /REQUEST frame is truncated/],
      [request.subarray(0, requestAt + 18), /bad auth id count 1/],
      [badCount, /bad auth id count -1/],
    ];
    for (const [b, why] of cases) {
      expect(() => decodePeerFrameBody(b)).toThrow(PeerDecodeError);
      expect(() => decodePeerFrameBody(b)).toThrow(why);
    }
  });
});
