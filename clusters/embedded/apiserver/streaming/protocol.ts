/**
 * What exec/attach streaming has in common across transports (WebSocket, SPDY/3.1): the query the client sends,
 * the streams handed to the command runner, and the metav1.Status the kubelet writes on the error stream.
 *
 * Texts follow the kubelet (pkg/kubelet/cri/streaming/remotecommand) byte for byte: client-go turns a Status with
 * reason NonZeroExitCode into an exit code, and kubectl exits with it.
 */
import { EventEmitter } from 'node:events';
import { HarnessError } from '../../../../lib/errors.js';

/** Parsed `?command=..&container=..&stdin=..&stdout=..&stderr=..&tty=..` of an exec or attach request. */
export interface ExecOptions {
  /** 'exec' runs `command`; 'attach' connects to the container's main process (command is empty). */
  kind: 'exec' | 'attach';
  command: string[];
  container?: string;
  stdin: boolean;
  stdout: boolean;
  /** Always false when tty is true (the kubelet drops stderr for a tty: the terminal merges it into stdout). */
  stderr: boolean;
  tty: boolean;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** Emits 'resize' with a TerminalSize each time the client's terminal changes; `last` keeps the latest one. */
export class ResizeEvents extends EventEmitter<{ resize: [TerminalSize] }> {
  last?: TerminalSize;
  push(size: TerminalSize): void {
    this.last = size;
    this.emit('resize', size);
  }
}

/** What the runner gets. A stream is present exactly when the client asked for it. */
export interface ExecStreams {
  options: ExecOptions;
  /** Ends (EOF) when the client closes its stdin, or when the connection goes. */
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  tty: boolean;
  /** Present iff tty. */
  resize?: ResizeEvents;
  /** Aborted when the client goes away before the command ended: the runner should kill the command. */
  signal: AbortSignal;
  /** The negotiated subprotocol (e.g. 'v5.channel.k8s.io') and transport, for logs and tests. */
  protocol: string;
  transport: 'websocket' | 'spdy';
}

/** exitCode: the command ran and ended; error: it could not run (no such container, ...). */
export type ExecResult = { exitCode: number } | { error: string };

export type ExecRunner = (streams: ExecStreams) => Promise<ExecResult>;

/** metav1.Status as json.Marshal writes it (field order as in the Go struct, empty fields left out). */
export interface Status {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

// The query booleans follow apimachinery's Convert_Slice_string_To_bool: absent is false, "0"/"false" (any case)
// are false, anything else (even an empty value) is true.
function queryBool(url: URL, name: string): boolean {
  const v = url.searchParams.getAll(name);
  if (v.length === 0) return false;
  const first = v[0]!;
  return !(first === '0' || first.toLowerCase() === 'false');
}

/**
 * Parse the query of `/api/v1/namespaces/{ns}/pods/{name}/exec` (or `/attach`, decided by the path's last
 * segment). Throws HarnessError BAD_INPUT for what the apiserver/kubelet reject.
 */
export function parseExecQuery(url: URL): ExecOptions {
  const kind = /\/attach\/?$/.test(url.pathname) ? 'attach' : 'exec';
  const command = url.searchParams.getAll('command');
  const container = url.searchParams.get('container') || undefined;
  const tty = queryBool(url, 'tty');
  const stdin = queryBool(url, 'stdin');
  const stdout = queryBool(url, 'stdout');
  // kubelet: "Access to exec with tty and stderr is not supported, bypassing stderr".
  const stderr = queryBool(url, 'stderr') && !tty;
  if (kind === 'exec' && command.length === 0) {
    throw new HarnessError('BAD_INPUT', 'you must specify at least one command for the container');
  }
  if (!stdin && !stdout && !stderr) {
    throw new HarnessError('BAD_INPUT', 'you must specify at least 1 of stdin, stdout, stderr');
  }
  return { kind, command, container, stdin, stdout, stderr, tty };
}

export function successStatus(): Status {
  return { metadata: {}, status: 'Success' };
}

/** What the kubelet writes when the command exited non-zero (CRI: "error executing command %v, exit code %d"). */
export function exitCodeStatus(command: readonly string[], exitCode: number): Status {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** apierrors.NewInternalError(fmt.Errorf("error executing command in container: %v", err)), as the kubelet sends. */
export function internalErrorStatus(error: string): Status {
  const msg = `error executing command in container: ${error}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${msg}`,
    reason: 'InternalError',
    details: { causes: [{ message: msg }] },
    code: 500,
  };
}

export function resultStatus(options: ExecOptions, result: ExecResult): Status {
  if ('error' in result) return internalErrorStatus(result.error);
  return result.exitCode === 0 ? successStatus() : exitCodeStatus(options.command, result.exitCode);
}

/**
 * The bytes for the error stream. v4/v5 carry the JSON Status always; older protocols carry only the message of
 * a failure (nothing on success), as the kubelet's v1WriteStatusFunc does.
 */
export function statusBytes(protocol: string, status: Status): Buffer {
  if (/^v[45]\./.test(protocol)) return Buffer.from(JSON.stringify(status));
  if (status.status === 'Success') return Buffer.alloc(0);
  return Buffer.from(status.message ?? 'error');
}

/**
 * Parse resize messages: the Go client writes json.Encoder output ({"Width":W,"Height":H}\n, possibly several in
 * one chunk); client-node writes {"width":..,"height":..}-less objects with the same capitalised keys. Returns the
 * sizes found and the unparsed rest.
 */
export function parseResize(buffered: string): { sizes: TerminalSize[]; rest: string } {
  const sizes: TerminalSize[] = [];
  let rest = buffered;
  for (;;) {
    const end = rest.indexOf('}');
    if (end < 0) break;
    const piece = rest.slice(0, end + 1).trim();
    rest = rest.slice(end + 1);
    try {
      const o = JSON.parse(piece) as Record<string, unknown>;
      const width = Number(o.Width ?? o.width);
      const height = Number(o.Height ?? o.height);
      if (Number.isFinite(width) && Number.isFinite(height)) sizes.push({ width, height });
    } catch {
      // A malformed size is dropped, as the kubelet's decoder loop logs and goes on.
    }
  }
  return { sizes, rest };
}

/** Protocols offered over SPDY (X-Stream-Protocol-Version), best first; '' means the client did not negotiate. */
export const SPDY_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

/** WebSocket subprotocols accepted. */
export const WEBSOCKET_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'base64.channel.k8s.io',
];

/** First of the client's protocols (in the client's order, as the kubelet picks) that the server supports. */
export function negotiate(clientProtocols: readonly string[], supported: readonly string[]): string | undefined {
  return clientProtocols.find((p) => supported.includes(p));
}
