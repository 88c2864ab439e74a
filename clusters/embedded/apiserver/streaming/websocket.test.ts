// The WebSocket side against the real @kubernetes/client-node Exec class, and a raw `ws` client for the corners
// client-node does not reach (base64 framing, pre-v4 error text, resize, close signal, rejected subprotocols).
import t from 'tap';
import { PassThrough, Readable, Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { Exec, KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { startTestServer, hostRunner, type TestServer } from './testing.js';
import type { ExecResult, ExecStreams, TerminalSize } from './protocol.js';

function kubeConfig(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u', namespace: 'ns' }],
    currentContext: 'c',
  });
  return kc;
}

class Sink extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    cb();
  }
  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get text(): string {
    return this.buffer.toString('utf8');
  }
}

/** Run one exec through client-node; resolves when the connection closed, with the Status it reported. */
async function clientExec(s: TestServer, command: string[], opts: { stdin?: Readable; stderr?: boolean; tty?: boolean } = {}) {
  const out = new Sink();
  const err = new Sink();
  let status: any;
  const ws = await new Exec(kubeConfig(s.url)).exec('ns', 'p', 'c', command, out, opts.stderr === false ? null : err, opts.stdin ?? null, opts.tty ?? false, (st) => {
    status = st;
  });
  await new Promise<void>((r) => {
    if (ws.readyState === ws.CLOSED) r();
    else ws.on('close', () => r());
  });
  return { out, err, status };
}

t.test('client-node Exec', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.close());

  t.test('stdout and stderr are separate, exit 0 gives the Success status', async (t) => {
    const r = await clientExec(s, ['sh', '-c', 'echo out; echo err >&2']);
    t.equal(r.out.text, 'out\n');
    t.equal(r.err.text, 'err\n');
    t.same(r.status, { metadata: {}, status: 'Success' });
    t.match(s.sessions.at(-1), { transport: 'websocket', protocol: 'v5.channel.k8s.io' });
  });

  t.test('a non-zero exit arrives as the kubelet Status', async (t) => {
    const r = await clientExec(s, ['sh', '-c', 'echo partial; exit 7']);
    t.equal(r.out.text, 'partial\n');
    t.strictSame(r.status, {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c echo partial; exit 7], exit code 7',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '7' }] },
    });
  });

  t.test('stdin is piped through cat and its end (v5 close signal) ends cat', async (t) => {
    const input = Readable.from([Buffer.from('hello '), Buffer.from('world\n'), Buffer.from([0, 1, 2, 255])]);
    const r = await clientExec(s, ['cat'], { stdin: input });
    t.same(r.out.buffer, Buffer.concat([Buffer.from('hello world\n'), Buffer.from([0, 1, 2, 255])]));
    t.equal(r.status?.status, 'Success');
  });

  t.test('1 MiB of binary output arrives intact', async (t) => {
    // Random bytes: compare against the hash the command itself computed (on stderr).
    const script = 'f=$(mktemp) && head -c 1048576 /dev/urandom > "$f" && sha256sum < "$f" >&2 && cat "$f"; rm -f "$f"';
    const r = await clientExec(s, ['sh', '-c', script]);
    t.equal(r.out.buffer.length, 1048576);
    t.equal(createHash('sha256').update(r.out.buffer).digest('hex'), r.err.text.split(' ')[0]);
    t.equal(r.status?.status, 'Success');
  });

  t.test('1 MiB of stdin reaches the command intact', async (t) => {
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
    const r = await clientExec(s, ['sha256sum'], { stdin: Readable.from([data.subarray(0, 300000), data.subarray(300000)]) });
    t.equal(r.out.text.split(' ')[0], createHash('sha256').update(data).digest('hex'));
  });

  t.test('a command that cannot start gives an InternalError status', async (t) => {
    const r = await clientExec(s, ['/nonexistent/cmd']);
    t.match(r.status, { status: 'Failure', reason: 'InternalError', code: 500, message: /^Internal error occurred: error executing command in container: .*ENOENT/ });
  });
});

/** A raw client: collects every message as [channel, payload]. */
async function rawClient(s: TestServer, query: string, protocols: string[]) {
  const ws = new WebSocket(`${s.url.replace('http', 'ws')}/api/v1/namespaces/ns/pods/p/exec?${query}`, protocols);
  const messages: { channel: number; data: Buffer; text?: string }[] = [];
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    if (isBinary) messages.push({ channel: raw[0]!, data: raw.subarray(1) });
    else messages.push({ channel: raw.toString()[0]!.charCodeAt(0) - 48, data: Buffer.from(raw.toString().slice(1), 'base64'), text: raw.toString() });
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('error', reject);
  });
  const on = (ch: number) => Buffer.concat(messages.filter((m) => m.channel === ch).map((m) => m.data));
  return { ws, messages, closed, on };
}

t.test('raw WebSocket client', async (t) => {
  let lastStreams: ExecStreams | undefined;
  const sizes: TerminalSize[] = [];
  const s = await startTestServer(async (streams): Promise<ExecResult> => {
    lastStreams = streams;
    if (streams.options.command[0] === 'resize') {
      // Report the sizes the client sent, then end.
      await new Promise<void>((r) => {
        streams.resize!.on('resize', (size) => {
          sizes.push(size);
          if (sizes.length === 2) r();
        });
      });
      streams.stdout!.write(`last ${streams.resize!.last!.width}x${streams.resize!.last!.height}`);
      return { exitCode: 0 };
    }
    return hostRunner(streams);
  });
  t.teardown(() => s.close());

  t.test('v4: first an empty message on stdout, then data, then the JSON Status, then close 1000', async (t) => {
    const c = await rawClient(s, 'command=sh&command=-c&command=echo%20hi%3B%20exit%202&stdout=true', ['v4.channel.k8s.io']);
    t.equal(c.ws.protocol, 'v4.channel.k8s.io');
    t.equal(await c.closed, 1000);
    t.same(c.messages[0], { channel: 1, data: Buffer.alloc(0) });
    t.equal(c.on(1).toString(), 'hi\n');
    t.match(JSON.parse(c.on(3).toString()), { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '2' }] } });
    t.notOk(lastStreams!.stderr, 'stderr not requested, not given');
    t.notOk(lastStreams!.stdin);
  });

  t.test('pre-v4 protocol: only the failure message as text on the error channel; nothing on success', async (t) => {
    const bad = await rawClient(s, 'command=false&stderr=1', ['channel.k8s.io']);
    await bad.closed;
    t.same(bad.messages[0], { channel: 2, data: Buffer.alloc(0) }, 'lowest writable channel is stderr');
    t.equal(bad.on(3).toString(), 'command terminated with non-zero exit code: error executing command [false], exit code 1');
    const good = await rawClient(s, 'command=true&stdout=1', ['v2.channel.k8s.io']);
    await good.closed;
    t.equal(good.messages.filter((m) => m.channel === 3).length, 0);
  });

  t.test('base64 variant: text frames both ways; a stdin-less client closing the socket ends stdin', async (t) => {
    const c = await rawClient(s, 'command=cat&stdin=true&stdout=true', ['v4.base64.channel.k8s.io']);
    t.equal(c.ws.protocol, 'v4.base64.channel.k8s.io');
    c.ws.send('0' + Buffer.from('over base64\n').toString('base64'));
    // Without v5 there is no close signal: wait for the echo, then hang up; cat must see EOF.
    while (!c.on(1).toString().includes('\n')) await new Promise((r) => setTimeout(r, 10));
    c.ws.close();
    await c.closed;
    t.equal(c.on(1).toString(), 'over base64\n');
    t.ok(c.messages.every((m) => m.text !== undefined), 'every server message was text');
    await new Promise((r) => setTimeout(r, 100));
    t.ok(lastStreams!.signal.aborted, 'runner is told the client went away');
  });

  t.test('v5 close signal for stdin only; resize JSON is parsed (tty drops stderr)', async (t) => {
    const c = await rawClient(s, 'command=resize&stdin=1&stdout=1&stderr=1&tty=1', ['v5.channel.k8s.io']);
    c.ws.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"Width":80,"Height":24}\n{"Width":1')]));
    c.ws.send(Buffer.concat([Buffer.from([4]), Buffer.from('00,"Height":50}')]));
    await c.closed;
    t.same(sizes, [{ width: 80, height: 24 }, { width: 100, height: 50 }]);
    t.equal(c.on(1).toString(), 'last 100x50');
    t.equal(lastStreams!.tty, true);
    t.notOk(lastStreams!.stderr, 'no stderr with a tty');
    t.ok(lastStreams!.stdin);
  });

  t.test('v5 close signal ends stdin', async (t) => {
    const c = await rawClient(s, 'command=wc&command=-c&stdin=1&stdout=1', ['v5.channel.k8s.io']);
    c.ws.send(Buffer.from([0, 65, 66, 67]));
    c.ws.send(Buffer.from([0])); // an empty stdin message is ignored
    c.ws.send(Buffer.from([255, 0]));
    await c.closed;
    t.equal(c.on(1).toString().trim(), '3');
  });

  t.test('no supported subprotocol: 400 before the upgrade', async (t) => {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/api/v1/namespaces/ns/pods/p/exec?command=true&stdout=1`, ['v9.channel.k8s.io']);
    const code = await new Promise<number>((r) => ws.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0)));
    t.equal(code, 400);
  });

  t.test('no subprotocol at all: binary channel protocol, plain-text errors', async (t) => {
    const c = await rawClient(s, 'command=sh&command=-c&command=exit%204&stdout=1', []);
    await c.closed;
    t.equal(c.ws.protocol, '');
    t.equal(c.on(3).toString(), 'command terminated with non-zero exit code: error executing command [sh -c exit 4], exit code 4');
  });

  t.test('a runner that throws still produces a Status and a clean close', async (t) => {
    const s2 = await startTestServer(async () => {
      throw new Error('boom');
    });
    t.teardown(() => s2.close());
    const c = await rawClient(s2, 'command=x&stdout=1', ['v4.channel.k8s.io']);
    t.equal(await c.closed, 1000);
    t.match(JSON.parse(c.on(3).toString()), { reason: 'InternalError', message: 'Internal error occurred: error executing command in container: boom' });
  });

  t.test('backpressure: a slow reader still gets everything, a stdin flood is paused not dropped', async (t) => {
    const s3 = await startTestServer(async (streams) => {
      // Read stdin slowly through a PassThrough with a tiny buffer, then echo the byte count.
      let n = 0;
      const slow = new PassThrough({ highWaterMark: 16 });
      streams.stdin!.pipe(slow);
      for await (const chunk of slow) {
        n += (chunk as Buffer).length;
        await new Promise((r) => setImmediate(r));
      }
      streams.stdout!.write(String(n));
      return { exitCode: 0 };
    });
    t.teardown(() => s3.close());
    const c = await rawClient(s3, 'command=x&stdin=1&stdout=1', ['v5.channel.k8s.io']);
    const block = Buffer.alloc(64 * 1024 + 1, 1);
    block[0] = 0;
    for (let i = 0; i < 40; i++) c.ws.send(block);
    c.ws.send(Buffer.from([255, 0]));
    await c.closed;
    t.equal(c.on(1).toString(), String(40 * 64 * 1024));
  });
});
