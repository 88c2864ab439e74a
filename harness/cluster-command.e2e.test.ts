// `dkc cluster up` interrupted at any point, and `dkc cluster down` after a SIGKILL (of `dkc cluster up`, and of
// `dkc run` in the middle of a scenario), leave nothing behind: no process, mount, loop device, network namespace,
// tgt target, iSCSI session or file. Each run gets its own TMPDIR
// and state dir so what it made can be told apart from other tests running at the same time. Needs root and the
// built dist/ (npm test builds it first).
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../lib/exec.js';
import { readMounts, under } from '../lib/mounts.js';
import { sleep, waitFor } from '../lib/wait.js';
import { missingFacility } from '../clusters/embedded/node/runtime/root-test-env.js';

const dkc = join(import.meta.dirname, '..', 'bin', 'dkc.js');
const skip = (await missingFacility(['busybox', 'ip', 'nsenter', 'unshare', 'tgtd', 'qemu-storage-daemon'])) ?? (existsSync(join(import.meta.dirname, '..', 'dist', 'harness', 'cli.js')) ? undefined : 'dist/ is not built (npm run build)');
if (skip) t.comment(`skipping the cluster up/down leak tests: ${skip}`);

interface Up {
  child: ChildProcess;
  tmp: string;
  state: string;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  /** Cluster ids seen in kubeconfigs under tmp (netns and tgt names carry them). */
  ids: Set<string>;
}

/** `dkc <args>` in its own TMPDIR and state dir, so what it makes can be told apart from other tests' things. */
async function spawnDkc(args: (tmp: string) => string[], env: NodeJS.ProcessEnv = {}): Promise<Up> {
  const tmp = await mkdtemp(join(tmpdir(), 'dkc-leaktest-'));
  const state = join(tmp, 'state');
  let out = '';
  let err = '';
  const child = spawn(process.execPath, [dkc, ...args(tmp)], { env: { ...process.env, ...env, TMPDIR: tmp, DKC_STATE_DIR: state }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? 128 : null))));
  const ids = new Set<string>();
  // Learn the cluster id as soon as its kubeconfig exists (it is written before any namespace is made).
  const spy = setInterval(() => void findIds(tmp).then((xs) => xs.forEach((x) => ids.add(x))), 20);
  void exited.then(() => clearInterval(spy));
  return { child, tmp, state, out: () => out, err: () => err, exited, ids };
}

const up = (name: string) => spawnDkc(() => ['cluster', 'up', '--name', name]);

/** `dkc run` on one version and these suites; its report goes to <tmp>/report. */
const runRun = (suites: string) =>
  spawnDkc((tmp) => ['run', '--k8s', process.env.DKC_E2E_K8S ?? 'v1.32', '--suite', suites, '--report-dir', join(tmp, 'report')], {
    // The kubectl cache is meant to outlive runs: keep using the shared one, not one under this TMPDIR.
    DKC_KUBECTL_CACHE: process.env.DKC_KUBECTL_CACHE || join(tmpdir(), 'dkc.kubectl-cache'),
    CI: 'true',
  });

/** Once a pod of the run has its Datera volume mounted: sessions, loop devices, mounts and the scenario process are up. */
const volumeMounted = (u: Up) =>
  waitFor('a Datera volume mounted for a pod of the run', async () => ((await readMounts()).some((m) => under(m.target, u.tmp) && m.target.includes('/volumes/datera~iscsi/')) ? true : undefined), { timeoutMs: 180_000 });

async function findIds(tmp: string): Promise<string[]> {
  const found: string[] = [];
  for (const d of await readdir(tmp).catch(() => [] as string[])) {
    const kc = join(tmp, d, 'kubeconfig');
    if (!existsSync(kc)) continue;
    const m = /- name: dkc-(e[0-9a-f]{8})\n/.exec(readFileSync(kc, 'utf8'));
    if (m) found.push(m[1]!);
  }
  return found;
}

/** Everything of this run still present; empty when nothing leaked. */
async function leftovers(u: Up): Promise<string[]> {
  const left: string[] = [];
  for (const m of await readMounts()) if (under(m.target, u.tmp) || [...u.ids].some((id) => m.target.includes(id))) left.push(`mount ${m.target}`);
  const netns = (await run(['ip', 'netns', 'list'], { nothrow: true })).stdout;
  for (const line of netns.split('\n')) if ([...u.ids].some((id) => line.includes(id))) left.push(`netns ${line}`);
  const loops = (await run(['losetup', '-l', '-n', '-O', 'NAME,BACK-FILE'], { nothrow: true })).stdout;
  for (const line of loops.split('\n')) if (line.includes(u.tmp)) left.push(`loop ${line.trim()}`);
  const ps = (await run(['ps', '-eo', 'pid=,args='], { nothrow: true })).stdout;
  for (const line of ps.split('\n')) if (line.includes(u.tmp) && !line.includes('ps -eo')) left.push(`process ${line.trim()}`);
  for (const d of await readdir(u.tmp).catch(() => [] as string[])) if (d !== 'state' && d !== 'report') left.push(`file ${join(u.tmp, d)}`);
  for (const d of await readdir(u.state).catch(() => [] as string[])) left.push(`state ${d}`);
  return left;
}

const readyLine = (u: Up) => /^ready .*$/m.exec(u.out())?.[0];
const field = (line: string, k: string) => new RegExp(`(?:^| )${k}=(\\S+)`).exec(line)?.[1];

async function podWithVolume(kubeconfig: string): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const storage = kc.makeApiClient(k8s.StorageV1Api);
  await storage.createStorageClass({ body: { metadata: { name: 'datera' }, provisioner: 'datera.io/provisioner-datera', parameters: { replica: '1', fsType: 'ext4', secretName: 'datera-secret', secretNamespace: 'datera' } } });
  await core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'datera', resources: { requests: { storage: '1Gi' } } } } });
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo x > /d/x; sleep 3600'], volumeMounts: [{ name: 'd', mountPath: '/d' }] }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] },
    },
  });
  await waitFor('pod with a Datera volume Running', async () => ((await core.readNamespacedPod({ name: 'p', namespace: 'default' })).status?.phase === 'Running' ? true : undefined), { timeoutMs: 120_000 });
}

if (!skip) {
  t.jobs = 1;
  // During start (several points), once ready, and with a pod on a Datera volume (session, loop device, mounts).
  for (const at of [0, 300, 800, 'ready', 'volume'] as const) {
    t.test(`SIGINT at ${typeof at === 'number' ? `${at} ms` : at} removes everything`, async (t) => {
      const u = await up(`leak-${at}`);
      t.teardown(() => rm(u.tmp, { recursive: true, force: true }));
      t.teardown(() => void u.child.kill('SIGKILL'));
      if (typeof at === 'number') {
        // Once the handlers are in (the first line), then at several points of the start.
        await waitFor('the starting line', async () => /starting embedded cluster/.test(u.err()) || undefined, { timeoutMs: 30_000 });
        await sleep(at);
      } else {
        await waitFor('ready line', async () => readyLine(u), { timeoutMs: 60_000 });
        if (at === 'volume') await podWithVolume(field(readyLine(u)!, 'kubeconfig')!);
      }
      u.child.kill('SIGINT');
      const code = await waitFor('dkc cluster up to exit', () => Promise.race([u.exited, sleep(100).then(() => undefined)]), { timeoutMs: 120_000 });
      t.ok(code === 0 || code === 130, `exit code ${code}: 0 or 130, never killed by the signal (stderr: ${u.err().slice(-500)})`);
      t.notMatch(u.err(), /cleanup left/, 'no cleanup step failed');
      if (at === 'volume') t.ok(u.ids.size, 'the run was seen creating a cluster');
      t.same(await leftovers(u), [], 'nothing of the cluster is left');
    });
  }

  t.test('after SIGKILL, dkc cluster down sweeps what the cluster left', async (t) => {
    const u = await up('leak-kill');
    t.teardown(() => rm(u.tmp, { recursive: true, force: true }));
    await waitFor('ready line', async () => readyLine(u), { timeoutMs: 60_000 });
    await podWithVolume(field(readyLine(u)!, 'kubeconfig')!);
    u.child.kill('SIGKILL');
    await u.exited;
    t.not((await leftovers(u)).length, 0, 'a killed cluster does leave things (else this test proves nothing)');
    const down = await run([process.execPath, dkc, 'cluster', 'down', '--name', 'leak-kill'], { env: { ...process.env, TMPDIR: u.tmp, DKC_STATE_DIR: u.state }, nothrow: true, timeoutMs: 180_000 });
    t.equal(down.exitCode, 0, down.stderr);
    t.match(down.stderr, /leak-kill is down; nothing of it is left/);
    t.same(await leftovers(u), [], 'nothing of the cluster is left');
  });

  t.test('after SIGKILL of dkc run in the middle of a scenario, dkc cluster down --all sweeps the run and its cluster', async (t) => {
    const u = await runRun('bind-dynamic');
    t.teardown(() => rm(u.tmp, { recursive: true, force: true }));
    t.teardown(() => void u.child.kill('SIGKILL'));
    await volumeMounted(u);
    u.child.kill('SIGKILL');
    await u.exited;
    t.ok(u.ids.size, 'the run was seen creating a cluster');
    const before = await leftovers(u);
    t.ok(before.some((l) => l.startsWith('mount ')) && before.some((l) => l.startsWith('process ')), `a killed run does leave mounts and processes (else this test proves nothing): ${before.length} things`);
    const records = await readdir(u.state);
    t.ok(records.some((r) => /^run-r[0-9a-f]{8}\.json$/.test(r)) && records.some((r) => /^run-e[0-9a-f]{8}\.json$/.test(r)), `the run and its cluster were recorded before anything was made (${records.join(', ')})`);
    const down = await run([process.execPath, dkc, 'cluster', 'down', '--all'], { env: { ...process.env, TMPDIR: u.tmp, DKC_STATE_DIR: u.state }, nothrow: true, timeoutMs: 180_000 });
    t.equal(down.exitCode, 0, down.stderr);
    t.match(down.stderr, /is down; nothing of it is left/);
    t.same(await leftovers(u), [], 'nothing of the run or its cluster is left');
  });

  t.test('Ctrl-C on dkc run in the middle of a scenario: exit 130, a partial report, nothing left', async (t) => {
    const u = await runRun('bind-dynamic,hygiene');
    t.teardown(() => rm(u.tmp, { recursive: true, force: true }));
    t.teardown(() => void u.child.kill('SIGKILL'));
    await volumeMounted(u);
    u.child.kill('SIGINT');
    const code = await waitFor('dkc run to exit', () => Promise.race([u.exited, sleep(100).then(() => undefined)]), { timeoutMs: 180_000 });
    t.equal(code, 130, `exit 130 (stderr: ${u.err().slice(-400)})`);
    const report = JSON.parse(readFileSync(join(u.tmp, 'report', 'report.json'), 'utf8')) as { results: { id: string; status: string }[] };
    t.same(report.results.find((r) => r.id === 'hygiene')?.status, 'missing', 'what did not run is reported missing');
    t.notOk(report.results.some((r) => r.status === 'passed' && r.id === 'bind-dynamic'), 'the interrupted scenario is not reported passed');
    t.same(await leftovers(u), [], 'nothing of the run or its cluster is left, without dkc cluster down');
  });
}
