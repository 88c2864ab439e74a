/**
 * Test support: a tiny HTTP server that serves just what kubectl and client-node need for `exec` against pod
 * `ns/p` (container `c`) — discovery, the Pod, and the exec/attach upgrade — and runs the command on the host.
 * Not for production: it has no auth and runs whatever it is asked to.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { handleStreamUpgrade } from './index.js';
import type { ExecResult, ExecStreams } from './protocol.js';

export interface TestServer {
  url: string;
  server: Server;
  /** One entry per exec: transport and protocol negotiated, and the command. */
  sessions: { transport: string; protocol: string; command: string[] }[];
  close(): Promise<void>;
}

/** Runs streams.options.command on the host with its stdio wired to the streams. */
export function hostRunner(streams: ExecStreams): Promise<ExecResult> {
  const [cmd, ...args] = streams.options.command;
  if (!cmd) return Promise.resolve({ error: 'no command' });
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    streams.signal.addEventListener('abort', onAbort, { once: true });
    child.stdin.on('error', () => {}); // EPIPE when the command exits before reading all input
    if (streams.stdin) streams.stdin.pipe(child.stdin);
    else child.stdin.end();
    if (streams.stdout) child.stdout.pipe(streams.stdout, { end: false });
    else child.stdout.resume();
    // With a tty there is no stderr stream: the terminal merges it into stdout.
    const errTarget = streams.stderr ?? (streams.tty ? streams.stdout : undefined);
    if (errTarget) child.stderr.pipe(errTarget, { end: false });
    else child.stderr.resume();
    child.on('error', (e) => resolve({ error: e.message }));
    child.on('close', (code, signal) => {
      streams.signal.removeEventListener('abort', onAbort);
      if (streams.stdin) streams.stdin.unpipe(child.stdin);
      resolve({ exitCode: code ?? (signal ? 128 + 9 : 1) });
    });
  });
}

const pod = {
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name: 'p', namespace: 'ns', uid: '00000000-0000-0000-0000-000000000001', creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
  status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, restartCount: 0, image: 'busybox', imageID: '', started: true, state: { running: { startedAt: '2024-01-01T00:00:00Z' } } }] },
};

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function serve(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/api') return json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
  if (path === '/apis') return json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
  if (path === '/api/v1') {
    return json(res, 200, {
      kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1',
      resources: [
        { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] },
        { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
        { name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      ],
    });
  }
  if (path === '/version') return json(res, 200, { major: '1', minor: '30', gitVersion: 'v1.30.0' });
  if (path === '/api/v1/namespaces/ns/pods/p') return json(res, 200, pod);
  // kubectl <= 1.29 POSTs the SPDY upgrade; node routes it to 'upgrade' only with an Upgrade header.
  return json(res, 404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${path} not found`, reason: 'NotFound', code: 404 });
}

export async function startTestServer(runner: (s: ExecStreams) => Promise<ExecResult> = hostRunner): Promise<TestServer> {
  const sessions: TestServer['sessions'] = [];
  const server = createServer(serve);
  const sockets = new Set<Duplex>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!/^\/api\/v1\/namespaces\/ns\/pods\/p\/(exec|attach)$/.test(path)) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    handleStreamUpgrade(req, socket, head, (streams) => {
      sessions.push({ transport: streams.transport, protocol: streams.protocol, command: streams.options.command });
      return runner(streams);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    sessions,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
