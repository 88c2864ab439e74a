/**
 * Server side of the Kubernetes WebSocket channel protocols (channel.k8s.io, v2..v5.channel.k8s.io and the
 * base64 variants), as the kubelet and apiserver speak them (k8s.io/apimachinery/pkg/util/httpstream/wsstream).
 *
 * Every message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (Status), 4 resize. In the
 * base64 variants messages are text: the channel as an ASCII digit, then the payload in base64. v5 adds the
 * close signal: [255, channel] from the client closes that channel (stdin EOF).
 *
 * Like the kubelet, the server sends one empty message on the lowest writable channel as soon as the connection is
 * open, and at the end writes the Status on channel 3 and closes the connection (close code 1000).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import {
  type ExecOptions, type ExecRunner, type ExecStreams, ResizeEvents, WEBSOCKET_PROTOCOLS, negotiate, parseResize,
  resultStatus, statusBytes, internalErrorStatus,
} from './protocol.js';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;
/** Data messages are split so that no single message is huge (a Go client reads each whole into memory). */
const MAX_MESSAGE = 32 * 1024;
/** How long the client gets to close after our close frame before the socket is destroyed. */
const CLOSE_GRACE_MS = 5_000;

// One server for all connections: noServer, so it never listens; it only performs handshakes.
let wss: WebSocketServer | undefined;
function server(): WebSocketServer {
  wss ??= new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // An empty list (no Sec-WebSocket-Protocol header) never reaches here; ws calls this only with offers.
    handleProtocols: (offered: Set<string>) => negotiate([...offered], WEBSOCKET_PROTOCOLS) ?? false,
  });
  return wss;
}

/** The client's offered subprotocols, in its order. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const h = req.headers['sec-websocket-protocol'];
  if (!h) return [];
  return h.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Take over an upgrade request that asked for a WebSocket. Rejects with 400 when the client offered subprotocols
 * and none is supported (the kubelet's handshake fails the same way).
 */
export function handleWebSocketUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, options: ExecOptions, run: ExecRunner): void {
  const offered = offeredProtocols(req);
  if (offered.length > 0 && !negotiate(offered, WEBSOCKET_PROTOCOLS)) {
    const body = `unable to upgrade: no supported subprotocol among ${offered.join(', ')}`;
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    return;
  }
  server().handleUpgrade(req, socket, head, (ws) => {
    void serveWebSocket(ws, options, run);
  });
}

async function serveWebSocket(ws: WebSocket, options: ExecOptions, run: ExecRunner): Promise<void> {
  const protocol = ws.protocol || 'channel.k8s.io';
  const base64 = protocol.includes('base64');
  const v5 = protocol.startsWith('v5.');
  const abort = new AbortController();
  let open = true;

  const send = (channel: number, data: Buffer, cb?: (err?: Error) => void): void => {
    if (!open || ws.readyState !== ws.OPEN) {
      cb?.();
      return;
    }
    if (base64) ws.send(String(channel) + data.toString('base64'), { binary: false }, cb);
    else ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true }, cb);
  };
  const writer = (channel: number): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        // The callback fires once ws has handed the bytes to the socket: that is the backpressure.
        let offset = 0;
        const next = (err?: Error): void => {
          if (err || offset >= chunk.length) {
            cb();
            return;
          }
          const piece = chunk.subarray(offset, offset + MAX_MESSAGE);
          offset += piece.length;
          send(channel, piece, next);
        };
        next();
      },
    });

  const stdin = options.stdin ? new PassThrough() : undefined;
  const stdout = options.stdout ? writer(STDOUT) : undefined;
  const stderr = options.stderr ? writer(STDERR) : undefined;
  const resize = options.tty ? new ResizeEvents() : undefined;
  let resizeBuf = '';

  const endStdin = (): void => {
    if (stdin && !stdin.writableEnded) stdin.end();
  };

  ws.on('message', (raw: RawData, isBinary: boolean) => {
    let data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
    if (data.length === 0) return;
    let channel = data[0]!;
    if (!isBinary && base64) {
      channel = channel - 0x30;
      data = Buffer.concat([Buffer.from([channel]), Buffer.from(data.subarray(1).toString('latin1'), 'base64')]);
    }
    const payload = data.subarray(1);
    if (channel === STDIN && stdin) {
      if (payload.length > 0 && !stdin.writableEnded && !stdin.write(payload)) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    } else if (channel === RESIZE && resize) {
      const parsed = parseResize(resizeBuf + payload.toString('utf8'));
      resizeBuf = parsed.rest;
      for (const s of parsed.sizes) resize.push(s);
    } else if (channel === CLOSE && v5 && payload[0] === STDIN) {
      endStdin();
    }
  });
  ws.on('close', () => {
    open = false;
    endStdin();
    abort.abort();
  });
  ws.on('error', () => {
    // A broken socket ends in 'close' too; nothing else to do here.
  });

  // Tell the client the connection is ready (kubelet: an empty message on the lowest writable channel).
  send(stdout ? STDOUT : stderr ? STDERR : ERROR, Buffer.alloc(0));

  const streams: ExecStreams = { options, stdin, stdout, stderr, tty: options.tty, resize, signal: abort.signal, protocol, transport: 'websocket' };
  let status;
  try {
    status = resultStatus(options, await run(streams));
  } catch (e) {
    status = internalErrorStatus(e instanceof Error ? e.message : String(e));
  }
  await Promise.all([stdout, stderr].map((w) => (w ? endAndFlush(w) : undefined)));
  const bytes = statusBytes(protocol, status);
  if (bytes.length > 0) await new Promise<void>((r) => send(ERROR, bytes, () => r()));
  endStdin();
  if (open && ws.readyState === ws.OPEN) {
    ws.close(1000);
    const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    timer.unref();
    ws.once('close', () => clearTimeout(timer));
  }
}

/** End a writable the runner may have left open, and wait until everything written has gone out. */
export function endAndFlush(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (w.writableFinished || w.destroyed) {
      resolve();
      return;
    }
    w.once('finish', () => resolve());
    w.once('close', () => resolve());
    if (!w.writableEnded) w.end();
  });
}
