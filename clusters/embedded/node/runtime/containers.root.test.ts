import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImagePullError } from './catalog.js';
import { ContainerRuntime, readContainerLogs, type ContainerSpec, type RunningContainer } from './containers.js';
import { ClusterNetwork } from './network.js';
import { execProbe, httpGetProbe, tcpProbe } from './probes.js';
import { leftovers, missingFacility } from './root-test-env.js';

const why = await missingFacility();
if (why) {
  t.comment(`skipping container runtime root tests: ${why}`);
  t.skip(`containers.root: ${why}`, () => undefined);
} else {
  const marker = `dkcct${process.pid}`;
  const tmp = await mkdtemp(join(tmpdir(), 'dkc-runtime-'));
  const net = await ClusterNetwork.create(marker, ['node1']);
  const runtime = new ContainerRuntime({ nodeName: 'node1', rootDir: join(tmp, 'root'), logDir: join(tmp, 'logs') });
  const running: RunningContainer[] = [];
  t.teardown(async () => {
    for (const c of running) await c.stop(0).catch(() => undefined);
    await net.destroy();
    await rm(tmp, { recursive: true, force: true });
  });

  let podSeq = 0;
  /** A pod network and its kubelet-managed files. */
  async function pod(hostname = 'web-0') {
    const uid = `uid-${marker}-${++podSeq}`;
    const p = await net.addPod('node1', uid);
    const dir = join(tmp, 'pods', uid);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'hosts'), `127.0.0.1\tlocalhost\n${p.ip}\t${hostname}\n`);
    await writeFile(join(dir, 'hostname'), `${hostname}\n`);
    await writeFile(join(dir, 'resolv.conf'), 'nameserver 10.96.0.10\nsearch default.svc.cluster.local\n');
    const base: Omit<ContainerSpec, 'containerName' | 'image'> = {
      podUid: uid,
      podName: hostname,
      namespace: 'default',
      env: { DKC_TEST: marker },
      netns: p.netns,
      hostname,
      hostsFile: join(dir, 'hosts'),
      hostnameFile: join(dir, 'hostname'),
      resolvFile: join(dir, 'resolv.conf'),
      mounts: [],
    };
    return { net: p, base };
  }

  async function start(spec: ContainerSpec): Promise<RunningContainer> {
    const c = await runtime.start(spec);
    running.push(c);
    return c;
  }

  async function until(what: string, f: () => Promise<boolean>, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await f())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  t.afterEach(async () => {
    // Each test stops what it starts; nothing of a stopped container may remain.
    for (const c of running.filter((c) => !c.running)) t.notOk(existsSync(c.rootfs), `rootfs dir of ${c.id} removed`);
    // The network namespaces live until the last test; everything else must be gone after each.
    t.same((await leftovers(marker)).filter((l) => !l.includes('/run/netns/') && !l.startsWith('netns')), [], 'no process or mount left');
  });

  t.test('busybox: logs, exec, stop reaches the main process', async (t) => {
    const { base } = await pod();
    const t0 = performance.now();
    const c = await start({ ...base, containerName: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'echo hello; echo err >&2; sleep 1000'] });
    t.comment(`container start: ${Math.round(performance.now() - t0)} ms`);
    t.match(c.imageID, /^dkc-catalog:\/\/busybox@sha256:[0-9a-f]{64}$/);
    await until('logs', async () => (await c.logs()).includes('err'));
    t.equal(await c.logs(), 'hello\nerr\n');
    const raw = await readFile(c.logPath, 'utf8');
    t.match(raw, /^\S+Z stdout F hello\n\S+Z stderr F err\n$/, 'CRI format with the stream of each line');
    t.match(await c.logs({ timestamps: true, tailLines: 1 }), /^\d{4}-\d\d-\d\dT[\d:.]+Z err\n$/);

    const ex = await c.execCapture(['cat', '/etc/hostname'], 5000);
    t.same(ex, { exitCode: 0, stdout: 'web-0\n', stderr: '', timedOut: false });
    t.equal((await c.execCapture(['sh', '-c', 'echo "$DKC_TEST $HOME"; exit 7'], 5000)).stdout, `${marker} /root\n`, 'exec has the container env');
    t.equal((await c.execCapture(['sh', '-c', 'exit 7'], 5000)).exitCode, 7);
    t.equal((await c.execCapture(['no-such-cmd'], 5000)).exitCode, 127);
    const slow = await c.execCapture(['sleep', '30'], 300);
    t.ok(slow.timedOut, 'exec timeout kills the exec');

    // Interactive-style exec: stdin in, stdout out.
    const child = c.exec(['sh', '-c', 'read x; echo "got $x"'], { stdin: true });
    const out: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stdin!.end('line\n');
    const code = await new Promise((r) => child.on('close', r));
    t.equal(code, 0);
    t.equal(Buffer.concat(out).toString(), 'got line\n');

    const t1 = performance.now();
    const st = await c.stop(5);
    t.ok(performance.now() - t1 < 4000, 'SIGTERM ended it before the grace period');
    t.match(st, { exitCode: 143, signal: 'SIGTERM', reason: 'Error' });
    t.notOk(existsSync(`/proc/${c.pid}`), 'main process gone');
    t.notOk(existsSync(`/proc/${c.initPid}`), 'PID-namespace init gone');
    t.throws(() => c.exec(['true']), /not running/);
  });

  t.test('a process ignoring SIGTERM is killed after the grace period, children included', async (t) => {
    const { base } = await pod();
    const c = await start({ ...base, containerName: 'stubborn', image: 'busybox', command: ['sh', '-c', 'trap "" TERM; (trap "" TERM; sleep 1000) & echo ready; sleep 1000'] });
    await until('trap set', async () => (await c.logs()).includes('ready'));
    const t0 = performance.now();
    const st = await c.stop(1);
    const took = performance.now() - t0;
    t.ok(took >= 1000 && took < 5000, `killed after the grace (${Math.round(took)} ms)`);
    t.match(st, { exitCode: 137, signal: 'SIGKILL', reason: 'Error' });
  });

  t.test('command, args, env, workingDir; default CMD; exit codes', async (t) => {
    const { base } = await pod();
    const c = await start({
      ...base,
      containerName: 'args',
      image: 'docker.io/library/busybox:latest',
      command: ['sh', '-c', 'echo "$0|$1|$2|$A|$(pwd)"; tr "\\0" "\\n" < /proc/$$/environ | sort; exit 3', 'zero'],
      args: ['x y', `it's "q"`],
      env: { DKC_TEST: marker, A: 'sp ace $HOME `x`' },
      workingDir: '/work dir/sub',
    });
    const st = await c.wait();
    t.match(st, { exitCode: 3, reason: 'Error', signal: null });
    const lines = (await c.logs()).split('\n');
    t.equal(lines[0], `zero|x y|it's "q"|sp ace $HOME \`x\`|/work dir/sub`);
    t.same(lines.slice(1).filter(Boolean), [`A=sp ace $HOME \`x\``, `DKC_TEST=${marker}`, 'HOME=/root', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], 'exactly the given env plus PATH/HOME defaults');

    const dflt = await start({ ...base, containerName: 'dflt', image: 'busybox', args: undefined });
    t.match(await dflt.wait(), { exitCode: 0, reason: 'Completed' }, 'default CMD sh with no stdin exits 0');
    const argsOnly = await start({ ...base, containerName: 'argsonly', image: 'busybox', args: ['echo', 'from args'] });
    await argsOnly.wait();
    t.equal(await argsOnly.logs(), 'from args\n', 'args replace CMD');
    const missing = await start({ ...base, containerName: 'missing', image: 'busybox', command: ['/no/such'] });
    t.equal((await missing.wait()).exitCode, 127);
  });

  t.test('volumes: missing mount points, readOnly, subPath, host root not writable', async (t) => {
    const { base } = await pod('db-1');
    const vol = join(tmp, `vol with 'quotes' and spaces`);
    await mkdir(vol, { recursive: true });
    await writeFile(join(vol, 'seed'), 'seed\n');
    const script = [
      'set -e',
      'echo data > /data/x/new',
      'cat /data/x/seed',
      'if touch /ro/nope 2>/dev/null; then echo ro-writable; fi',
      'cat /ro/seed',
      'echo sub > /sp/f',
      'hostname',
      'cat /etc/resolv.conf | head -1',
      'for p in /usr/dkc-probe /etc/dkc-probe /bin/dkc-probe /lib/dkc-probe /proc/sys/kernel/dkc; do touch $p 2>/dev/null && echo "writable $p"; done',
      'touch /tmp/ok /var/ok /run/ok && echo tmpfs-ok',
      'ls -d /dev/null /dev/urandom /dev/shm',
      'echo "ppid $PPID"',
      'cat /etc/config/seed /usr/share/dkc-test/seed',
    ].join('\n');
    const c = await start({
      ...base,
      containerName: 'vols',
      image: 'busybox',
      command: ['sh', '-c', script],
      mounts: [
        { hostPath: vol, containerPath: '/data/x' },
        { hostPath: vol, containerPath: '/ro', readOnly: true },
        { hostPath: vol, containerPath: '/sp', subPath: 'a/b c' },
        // Mount points that do not exist under the read-only system dirs.
        { hostPath: vol, containerPath: '/etc/config', readOnly: true },
        { hostPath: join(vol, 'seed'), containerPath: '/usr/share/dkc-test/seed', readOnly: true },
      ],
    });
    const st = await c.wait();
    const logs = await c.logs();
    t.equal(st.exitCode, 0, logs);
    t.equal(logs, ['seed', 'seed', 'db-1', 'nameserver 10.96.0.10', 'tmpfs-ok', '/dev/null', '/dev/shm', '/dev/urandom', 'ppid 1', 'seed', 'seed', ''].join('\n'));
    t.equal(await readFile(join(vol, 'new'), 'utf8'), 'data\n', 'write reached the volume');
    t.equal(await readFile(join(vol, 'a/b c/f'), 'utf8'), 'sub\n', 'subPath created and used');
    t.notOk(existsSync(join(vol, 'nope')));
    for (const p of ['/usr/dkc-probe', '/etc/dkc-probe', '/etc/config', '/usr/share/dkc-test']) t.notOk(existsSync(p), `host ${p} untouched`);
    await t.rejects(runtime.start({ ...base, containerName: 'bad', image: 'busybox', mounts: [{ hostPath: vol, containerPath: '/x', subPath: '../up' }] }), /subPath/);
  });

  t.test('unknown image fails like ErrImagePull', async (t) => {
    const { base } = await pod();
    const err = await runtime.start({ ...base, containerName: 'x', image: 'nginx:1.25' }).catch((e: unknown) => e);
    t.ok(err instanceof ImagePullError);
    t.equal((err as Error).message, 'failed to pull image "nginx:1.25": image not in the embedded catalog (known: mariadb, mysql, busybox, debian-base)');
  });

  t.test('setup failure is a start error with the reason', async (t) => {
    const { base } = await pod();
    await t.rejects(runtime.start({ ...base, containerName: 'x', image: 'busybox', hostsFile: join(tmp, 'no-such-hosts') }), /failed to start container "x".*setup-failed/s);
    await t.rejects(runtime.start({ ...base, containerName: 'x', image: 'busybox', netns: 'dkc-none' }), /network namespace dkc-none does not exist/);
  });

  t.test('logs: follow until exit, previous instance', async (t) => {
    const { base } = await pod();
    const first = await start({ ...base, containerName: 'app', image: 'busybox', command: ['sh', '-c', 'echo one; sleep 0.3; echo two'] });
    const seen: string[] = [];
    for await (const l of first.followLogs()) seen.push(l);
    t.same(seen, ['one\n', 'two\n'], 'follow ends when the container exits');
    const second = await start({ ...base, containerName: 'app', image: 'busybox', command: ['echo', 'three'] });
    await second.wait();
    t.equal(await second.logs(), 'three\n');
    t.equal(await second.logs({ previous: true }), 'one\ntwo\n');
    t.equal(await readContainerLogs(join(tmp, 'logs'), base, 'app'), 'three\n');
    await t.rejects(readContainerLogs(join(tmp, 'logs'), base, 'nope'), /has no logs/);
  });

  t.test('probes: exec, TCP, HTTP GET', async (t) => {
    const { base, net: p } = await pod();
    const c = await start({
      ...base,
      containerName: 'web',
      image: 'busybox',
      command: ['sh', '-c', 'mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'],
    });
    await until('httpd listening', async () => (await tcpProbe(p.netns, p.ip, 8080, 1)).success);
    t.match(await tcpProbe(p.netns, p.ip, 8081, 1), { success: false, message: /ECONNREFUSED/ });
    t.match(await httpGetProbe(p.netns, { host: p.ip, port: 8080, path: '/index.html' }, 2), { success: true, message: /statuscode: 200/ });
    t.match(await httpGetProbe(p.netns, { host: p.ip, port: 8080, path: 'missing' }, 2), { success: false, message: /statuscode: 404/ });
    t.match(await httpGetProbe(p.netns, { host: p.ip, port: 8081 }, 2), { success: false, message: /ECONNREFUSED/ });
    // From the node's namespace, as kubelet probes.
    t.match(await tcpProbe(net.node('node1').netns, p.ip, 8080, 1), { success: true });
    t.match(await execProbe(c, ['cat', '/tmp/www/index.html'], 2), { success: true, message: 'ok' });
    t.match(await execProbe(c, ['sh', '-c', 'echo bad; exit 1'], 2), { success: false, message: 'command exited 1: bad' });
    t.match(await execProbe(c, ['sleep', '10'], 1), { success: false, message: /timed out/ });
    t.match(await c.stop(2), { exitCode: 143 }, 'httpd is the main process (exec) and gets SIGTERM');
  });

  t.test('destroying the network leaves nothing of the cluster', async (t) => {
    await net.destroy();
    t.same(await leftovers(marker), []);
  });
}
