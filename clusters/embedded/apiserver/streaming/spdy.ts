/**
 * Server side of the SPDY/3.1 exec/attach protocol as the kubelet speaks it to client-go (kubectl <= 1.29 uses
 * only this; newer kubectl falls back to it). Handshake: the client POSTs with `Upgrade: SPDY/3.1` and one or more
 * `X-Stream-Protocol-Version` headers; we answer 101 with the protocol chosen. The client then opens one stream
 * per channel (SYN_STREAM, header `streamtype` = error|stdin|stdout|stderr|resize) and waits for our SYN_REPLY.
 *
 * Framing (SPDY draft 3): control frames `1|version(15)|type(16)|flags(8)|length(24)|payload`, data frames
 * `0|stream-id(31)|flags(8)|length(24)|data`, FIN = flag 1. Header blocks are zlib with the SPDY/3 dictionary, one
 * zlib stream per direction for the whole connection. We inflate the client's with node:zlib; ours are written as
 * stored (uncompressed) deflate blocks inside a dictionary-flagged zlib stream, which every inflater accepts and
 * which keeps writing synchronous.
 *
 * Flow control: the Go client (moby/spdystream) neither sends WINDOW_UPDATE nor honours a window, so we do not
 * stall on a 64 KiB window (it would never reopen); backpressure comes from the TCP socket instead, both ways.
 *
 * End of a command (as the kubelet): Status on the error stream, FIN on every stream, GOAWAY, and the socket
 * closes once the client closes it (or after a grace period).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY, adler32 } from './spdy-dictionary.js';
import {
  type ExecOptions, type ExecRunner, type ExecStreams, type Status, ResizeEvents, SPDY_PROTOCOLS, negotiate,
  parseResize, resultStatus, statusBytes, internalErrorStatus,
} from './protocol.js';
import { endAndFlush } from './websocket.js';

export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const HEADERS = 8;
export const WINDOW_UPDATE = 9;
export const FLAG_FIN = 1;
const MAX_DATA = 32 * 1024;
const STREAM_WAIT_MS = 30_000;
const CLOSE_GRACE_MS = 5_000;

export type Frame =
  | { control: true; type: number; flags: number; payload: Buffer }
  | { control: false; streamId: number; flags: number; payload: Buffer };

/** Split complete frames off the front of `buf`; returns them and the incomplete rest. */
export function parseFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let off = 0;
  while (buf.length - off >= 8) {
    const len = buf.readUIntBE(off + 5, 3);
    if (buf.length - off < 8 + len) break;
    const flags = buf[off + 4]!;
    const payload = buf.subarray(off + 8, off + 8 + len);
    if (buf[off]! & 0x80) frames.push({ control: true, type: buf.readUInt16BE(off + 2), flags, payload });
    else frames.push({ control: false, streamId: buf.readUInt32BE(off) & 0x7fffffff, flags, payload });
    off += 8 + len;
  }
  return { frames, rest: buf.subarray(off) };
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(payload.length, 4);
  h[4] = flags;
  return Buffer.concat([h, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(data.length, 4);
  h[4] = flags;
  return Buffer.concat([h, data]);
}

/** uint32 pairs-count, then each name and value as uint32 length + bytes (values joined by NUL). */
export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entries = Object.entries(headers);
  parts.push(u32(entries.length));
  for (const [k, v] of entries) {
    const kb = Buffer.from(k.toLowerCase());
    const vb = Buffer.from(v);
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

/** Parse one complete header block; undefined when `buf` does not yet hold all of it. */
export function decodeHeaderBlock(buf: Buffer): { headers: Record<string, string>; used: number } | undefined {
  if (buf.length < 4) return undefined;
  const n = buf.readUInt32BE(0);
  let off = 4;
  const headers: Record<string, string> = {};
  const str = (): string | undefined => {
    if (buf.length - off < 4) return undefined;
    const len = buf.readUInt32BE(off);
    if (buf.length - off - 4 < len) return undefined;
    const s = buf.subarray(off + 4, off + 4 + len).toString('utf8');
    off += 4 + len;
    return s;
  };
  for (let i = 0; i < n; i++) {
    const k = str();
    if (k === undefined) return undefined;
    const v = str();
    if (v === undefined) return undefined;
    headers[k.toLowerCase()] = v;
  }
  return { headers, used: off };
}

/** Writes header blocks as stored deflate blocks of one dictionary-flagged zlib stream (see the header comment). */
export class HeaderCompressor {
  private started = false;
  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      // CMF 0x78 (deflate, 32K window), FLG with FDICT (0x20) and FCHECK making CMF*256+FLG a multiple of 31.
      let flg = 0x20;
      flg += 31 - ((0x78 * 256 + flg) % 31);
      const dictId = Buffer.alloc(4);
      dictId.writeUInt32BE(adler32(SPDY3_DICTIONARY));
      parts.push(Buffer.from([0x78, flg]), dictId);
    }
    for (let off = 0; off < block.length || off === 0; off += 0xffff) {
      const piece = block.subarray(off, off + 0xffff);
      const h = Buffer.alloc(5);
      h[0] = 0; // BFINAL=0, BTYPE=00 (stored); the rest of the byte is padding
      h.writeUInt16LE(piece.length, 1);
      h.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(h, piece);
      if (block.length === 0) break;
    }
    // An empty stored block, as Z_SYNC_FLUSH ends its output with: inflaters (Go's flate among them) hand out a
    // stored block's bytes only when the next block starts, so without it the header block would stay inside.
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

/** Inflates the client's header blocks with one zlib context for the whole connection. */
export class HeaderDecompressor {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private out: Buffer = Buffer.alloc(0);
  private waiter?: () => void;
  private failure?: Error;
  constructor() {
    this.inflate.on('data', (b: Buffer) => {
      this.out = Buffer.concat([this.out, b]);
      this.waiter?.();
    });
    this.inflate.on('error', (e: Error) => {
      this.failure = e;
      this.waiter?.();
    });
  }
  /** Feed one compressed block and resolve with its headers once the inflater has produced all of it. */
  async decode(block: Buffer): Promise<Record<string, string>> {
    this.inflate.write(block);
    this.inflate.flush(zlib.constants.Z_SYNC_FLUSH);
    for (;;) {
      if (this.failure) throw this.failure;
      const got = decodeHeaderBlock(this.out);
      if (got) {
        this.out = this.out.subarray(got.used);
        return got.headers;
      }
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }
  close(): void {
    this.inflate.destroy();
  }
}

/** The client's X-Stream-Protocol-Version values, in its order (repeated headers and comma lists alike). */
export function requestedStreamProtocols(req: IncomingMessage): string[] {
  const raw = req.headersDistinct['x-stream-protocol-version'] ?? [];
  return raw.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** Take over an upgrade request that asked for SPDY/3.1. */
export function handleSpdyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, options: ExecOptions, run: ExecRunner): void {
  const offered = requestedStreamProtocols(req);
  let protocol = '';
  if (offered.length > 0) {
    const chosen = negotiate(offered, SPDY_PROTOCOLS);
    if (!chosen) {
      // kubelet: http.StatusForbidden, "unable to upgrade: unable to negotiate protocol: ..."
      const body = `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${SPDY_PROTOCOLS.join(' ')}]`;
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    protocol = chosen;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      (protocol ? `X-Stream-Protocol-Version: ${protocol}\r\n` : '') +
      '\r\n',
  );
  new SpdySession(socket, options, protocol || 'channel.k8s.io', run).start(head);
}

interface StreamState {
  id: number;
  type: string;
  /** We sent FIN on it. */
  localClosed: boolean;
}

class SpdySession {
  private buf: Buffer = Buffer.alloc(0);
  private chain: Promise<void> = Promise.resolve();
  private readonly inflater = new HeaderDecompressor();
  private readonly deflater = new HeaderCompressor();
  private readonly streams = new Map<number, StreamState>();
  private readonly byType = new Map<string, StreamState>();
  private readonly expected: string[];
  private readonly abort = new AbortController();
  private readonly stdin?: PassThrough;
  private readonly resize?: ResizeEvents;
  private resizeBuf = '';
  private started = false;
  private closed = false;
  private waitTimer?: NodeJS.Timeout;

  constructor(
    private readonly socket: Duplex,
    private readonly options: ExecOptions,
    private readonly protocol: string,
    private readonly run: ExecRunner,
  ) {
    if (options.stdin) this.stdin = new PassThrough();
    const resizable = options.tty && (protocol.startsWith('v3.') || protocol.startsWith('v4.'));
    if (options.tty) this.resize = new ResizeEvents();
    this.expected = ['error'];
    if (options.stdin) this.expected.push('stdin');
    if (options.stdout) this.expected.push('stdout');
    if (options.stderr) this.expected.push('stderr');
    if (resizable) this.expected.push('resize');
  }

  start(head: Buffer): void {
    this.socket.on('data', (b: Buffer) => this.onData(b));
    this.socket.on('close', () => this.onClose());
    this.socket.on('end', () => this.onClose());
    this.socket.on('error', () => this.onClose());
    // The kubelet gives the client streamCreationTimeout (30 s) to open every stream it needs.
    this.waitTimer = setTimeout(() => this.socket.destroy(), STREAM_WAIT_MS);
    this.waitTimer.unref();
    if (head.length) this.onData(head);
  }

  private onData(b: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, b]) : b;
    const { frames, rest } = parseFrames(this.buf);
    this.buf = Buffer.from(rest);
    for (const f of frames) {
      // Header blocks inflate asynchronously; the chain keeps every frame in arrival order.
      this.chain = this.chain.then(() => this.onFrame(f)).catch(() => {
        this.socket.destroy();
      });
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.waitTimer);
    this.inflater.close();
    this.endStdin();
    if (!this.abort.signal.aborted) this.abort.abort();
  }

  private endStdin(): void {
    if (this.stdin && !this.stdin.writableEnded) this.stdin.end();
  }

  private write(frame: Buffer, cb?: () => void): void {
    if (this.closed || this.socket.destroyed) {
      cb?.();
      return;
    }
    if (this.socket.write(frame) || !cb) cb?.();
    else {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        cb();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    }
  }

  private async onFrame(f: Frame): Promise<void> {
    if (!f.control) {
      const s = this.streams.get(f.streamId);
      if (s?.type === 'stdin' && this.stdin) {
        if (f.payload.length && !this.stdin.writableEnded && !this.stdin.write(Buffer.from(f.payload))) {
          // TCP-level backpressure: stop reading the socket until the runner drained stdin.
          this.socket.pause();
          this.stdin.once('drain', () => this.socket.resume());
        }
        if (f.flags & FLAG_FIN) this.endStdin();
      } else if (s?.type === 'resize' && this.resize) {
        const parsed = parseResize(this.resizeBuf + f.payload.toString('utf8'));
        this.resizeBuf = parsed.rest;
        for (const size of parsed.sizes) this.resize.push(size);
      }
      return;
    }
    switch (f.type) {
      case SYN_STREAM: {
        const id = f.payload.readUInt32BE(0) & 0x7fffffff;
        const headers = await this.inflater.decode(f.payload.subarray(10));
        const type = headers['streamtype'] ?? '';
        const state: StreamState = { id, type, localClosed: false };
        this.streams.set(id, state);
        if (!this.byType.has(type)) this.byType.set(type, state);
        const idBuf = Buffer.alloc(4);
        idBuf.writeUInt32BE(id);
        this.write(controlFrame(SYN_REPLY, 0, Buffer.concat([idBuf, this.deflater.compress(encodeHeaderBlock({}))])));
        if (type === 'stdin' && f.flags & FLAG_FIN) this.endStdin();
        if (!this.started && this.expected.every((t) => this.byType.has(t))) {
          this.started = true;
          clearTimeout(this.waitTimer);
          void this.execute();
        }
        return;
      }
      case RST_STREAM: {
        const s = this.streams.get(f.payload.readUInt32BE(0) & 0x7fffffff);
        if (s) s.localClosed = true;
        if (s?.type === 'stdin') this.endStdin();
        return;
      }
      case PING:
        this.write(controlFrame(PING, 0, f.payload));
        return;
      case GOAWAY:
        this.socket.end();
        this.onClose();
        return;
      case HEADERS:
        // Keep the shared zlib context in step even though we have no use for the headers.
        await this.inflater.decode(f.payload.subarray(4));
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, NOOP and unknown types: nothing to do.
        return;
    }
  }

  private writer(type: string): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        const s = this.byType.get(type);
        if (!s || s.localClosed) {
          cb();
          return;
        }
        const frames: Buffer[] = [];
        for (let off = 0; off < chunk.length; off += MAX_DATA) frames.push(dataFrame(s.id, 0, chunk.subarray(off, off + MAX_DATA)));
        this.write(Buffer.concat(frames), () => cb());
      },
    });
  }

  private async execute(): Promise<void> {
    const stdout = this.options.stdout ? this.writer('stdout') : undefined;
    const stderr = this.options.stderr ? this.writer('stderr') : undefined;
    const streams: ExecStreams = {
      options: this.options, stdin: this.stdin, stdout, stderr, tty: this.options.tty, resize: this.resize,
      signal: this.abort.signal, protocol: this.protocol, transport: 'spdy',
    };
    let status: Status;
    try {
      status = resultStatus(this.options, await this.run(streams));
    } catch (e) {
      status = internalErrorStatus(e instanceof Error ? e.message : String(e));
    }
    await Promise.all([stdout, stderr].map((w) => (w ? endAndFlush(w) : undefined)));
    const err = this.byType.get('error');
    const bytes = statusBytes(this.protocol, status);
    if (err && bytes.length) this.write(dataFrame(err.id, 0, bytes));
    for (const s of this.streams.values()) {
      if (s.localClosed) continue;
      s.localClosed = true;
      this.write(dataFrame(s.id, FLAG_FIN, Buffer.alloc(0)));
    }
    const last = Buffer.alloc(8);
    last.writeUInt32BE(Math.max(0, ...this.streams.keys()), 0);
    this.write(controlFrame(GOAWAY, 0, last));
    this.endStdin();
    if (!this.closed) {
      // The client closes the connection once it has read everything; do not cut it short.
      const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      timer.unref();
      this.socket.once('close', () => clearTimeout(timer));
      this.socket.once('end', () => this.socket.end());
    }
  }
}
