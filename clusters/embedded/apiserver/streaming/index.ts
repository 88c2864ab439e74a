/**
 * Pod exec/attach streaming, server side: what the embedded apiserver's HTTP(S) server calls for an 'upgrade'
 * request to `/api/v1/namespaces/{ns}/pods/{name}/exec?...` or `.../attach?...`.
 *
 * Exported API:
 *   handleStreamUpgrade(req, socket, head, run, options?): void
 *       Takes over the socket of a node http/https 'upgrade' event. Picks WebSocket (`Upgrade: websocket`,
 *       subprotocols v5/v4/v3/v2.channel.k8s.io, channel.k8s.io, v4.base64/base64.channel.k8s.io) or SPDY/3.1
 *       (`Upgrade: SPDY/3.1`, X-Stream-Protocol-Version v4/v3/v2.channel.k8s.io, channel.k8s.io). Parses the query
 *       with parseExecQuery unless `options` is given (answers 400 with a Status on BAD_INPUT), then calls
 *       `run(streams)` once the client's streams are all there, writes the resulting Status on the error channel
 *       and closes the connection as the kubelet does.
 *   parseExecQuery(url: URL): ExecOptions            (throws HarnessError BAD_INPUT)
 *   isStreamUpgrade(req): 'websocket' | 'spdy' | undefined
 *   types ExecOptions, ExecStreams, ExecResult, ExecRunner, TerminalSize, Status, class ResizeEvents
 *   status helpers successStatus(), exitCodeStatus(command, code), internalErrorStatus(message)
 *
 * The runner contract: write the command's output to streams.stdout / streams.stderr (present iff requested;
 * stderr never with tty), read streams.stdin until EOF (it ends when the client closes its stdin), watch
 * streams.resize for terminal sizes (tty only), kill the command when streams.signal aborts (client gone), and
 * resolve { exitCode } when it ended or { error } when it could not run. Unended stdout/stderr are ended for you.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { HarnessError } from '../../../../lib/errors.js';
import { type ExecOptions, type ExecRunner, parseExecQuery } from './protocol.js';
import { handleSpdyUpgrade } from './spdy.js';
import { handleWebSocketUpgrade } from './websocket.js';

export {
  parseExecQuery, successStatus, exitCodeStatus, internalErrorStatus, ResizeEvents,
  type ExecOptions, type ExecStreams, type ExecResult, type ExecRunner, type TerminalSize, type Status,
} from './protocol.js';

/** Which streaming transport an upgrade request asks for, if any. */
export function isStreamUpgrade(req: IncomingMessage): 'websocket' | 'spdy' | undefined {
  const up = (req.headers.upgrade ?? '').toLowerCase();
  if (up.split(',').some((p) => p.trim() === 'websocket')) return 'websocket';
  if (up.split(',').some((p) => p.trim().startsWith('spdy/3.1'))) return 'spdy';
  return undefined;
}

function reject(socket: Duplex, code: number, reason: string, message: string): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  const text = code === 400 ? 'Bad Request' : 'Internal Server Error';
  socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function handleStreamUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, run: ExecRunner, options?: ExecOptions): void {
  let opts = options;
  if (!opts) {
    try {
      opts = parseExecQuery(new URL(req.url ?? '/', 'http://localhost'));
    } catch (e) {
      if (e instanceof HarnessError && e.code === 'BAD_INPUT') reject(socket, 400, 'BadRequest', e.message);
      else reject(socket, 500, 'InternalError', String(e));
      return;
    }
  }
  const transport = isStreamUpgrade(req);
  if (transport === 'websocket') handleWebSocketUpgrade(req, socket, head, opts, run);
  else if (transport === 'spdy') handleSpdyUpgrade(req, socket, head, opts, run);
  else reject(socket, 400, 'BadRequest', `Upgrade request required (websocket or SPDY/3.1), got ${JSON.stringify(req.headers.upgrade ?? '')}`);
}
