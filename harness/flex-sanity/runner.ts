/**
 * flex-sanity, the I/O half: an emulated kubelet (controller attach/detach disabled, so it calls attach and detach
 * itself) that runs a FlexVolume driver executable on two emulated nodes of this machine, per version profile, and
 * records named checks. Needs root (real mkfs, mounts, loop devices through the userspace iscsiadm).
 *
 * A node is a set of roots under the nodes dir: DKC_ISCSI_ROOT (its own initiatorname.iscsi), DKC_KUBELET_ROOT,
 * DATERA_FLEX_STATE_DIR, NODE_NAME, and PATH with the userspace iscsiadm first. Every case gets fresh roots, so the
 * leak checks can say "nothing under this case's roots" and the cleanup that follows a broken driver stays local.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, mkdtemp, open, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, which } from '../../lib/exec.js';
import { detachLoopsUnder, mountAt, readMounts, under, safeFormatAndMount } from '../../lib/mounts.js';
import { HarnessError, errorMessage } from '../../lib/errors.js';
import { DateraClient } from '../../drivers/datera/client.js';
import type { StartedMockDatera } from '../../mocks/datera/mock-datera.js';
import {
  argvFor,
  checkId,
  fallbackFor,
  jsonArg,
  optionsFor,
  parseOutput,
  suiteLabel,
  type CheckResult,
  type DriverStatus,
  type K8sProfile,
  type Outcome,
  type PodSpec,
  type VolumeSpec,
} from './flex-sanity.js';

export interface BackendSpec {
  url: string;
  user: string;
  password: string;
}

export interface FlexSanityOptions {
  /** The driver executable (a `datera~iscsi/iscsi`). */
  driver: string;
  profiles: K8sProfile[];
  /** An existing Datera API; default: start the mock with process (tgtd) targets. */
  backend?: BackendSpec;
  /** Where node roots go; default a temp dir removed at the end. */
  nodesDir?: string;
  /** Directory holding the userspace `iscsiadm`; default drivers/iscsiadm/bin of this checkout. */
  iscsiadmBin?: string;
  /** Profiles that also get the idempotency, bad-args, not-supported and parallel cases. Default: the newest selected. */
  extended?: 'newest' | 'all' | 'none';
  /** Case groups to run; default all. The lifecycle always runs. */
  cases?: ReadonlyArray<'idempotent' | 'bad-args' | 'not-supported' | 'parallel'>;
  /** How many times each call-out is repeated in the idempotency case (csi-sanity uses 10). Default 3. */
  repeats?: number;
  /** Short human status lines (stderr in the CLI). */
  status?: (line: string) => void;
  /** Aborting stops before the next case; the current one finishes and everything is cleaned up. */
  signal?: AbortSignal;
}

export interface FlexSanityReport {
  results: CheckResult[];
  /** Wall time per profile. */
  timings: { profile: string; ms: number }[];
  /** attach start to pod mount done, first calls only, every set-up. */
  attachToMountedMs: number[];
}

/** The checkout root (package.json), found upward from this file: it runs from harness/ and from dist/harness/. */
export function checkoutRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'drivers'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

export const defaultIscsiadmBin = () => join(checkoutRoot(), 'drivers/iscsiadm/bin');

/** A driver misbehaving: reported as `failed`. Anything else thrown inside a check is infrastructure: `error`. */
export class CheckFailed extends Error {}
const fail = (m: string): never => {
  throw new CheckFailed(m);
};

interface Node {
  name: string;
  iqn: string;
  root: string;
  env: Record<string, string | undefined>;
  globalDir(pv: string): string;
  podDir(podUid: string, vol: string): string;
}

interface CallRecord {
  node: string;
  argv: string[];
  outcome: Outcome;
  exitCode: number | null;
}

async function mountCount(dir: string): Promise<number> {
  return (await readMounts()).filter((m) => m.target === dir).length;
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** The backend the run talks to: the mock it started, or an existing Datera API. */
interface Backend {
  server: string;
  user: string;
  password: string;
  client: DateraClient;
  mock?: StartedMockDatera;
}

type AclAi = { admin_state?: string; storage_instances?: { acl_policy?: { initiators?: { path: string }[] } }[] };

async function aiInfo(b: Backend, name: string): Promise<{ present: boolean; acl: string[] }> {
  const ai = await b.client.find<AclAi>(`/app_instances/${encodeURIComponent(name)}`);
  if (!ai) return { present: false, acl: [] };
  const acl = (ai.storage_instances ?? []).flatMap((si) => (si.acl_policy?.initiators ?? []).map((i) => i.path.replace(/^\/initiators\//, '')));
  return { present: true, acl };
}

async function destroyAi(b: Backend, name: string): Promise<void> {
  const path = `/app_instances/${encodeURIComponent(name)}`;
  const ai = await b.client.find<AclAi>(path);
  if (!ai) return;
  if (ai.admin_state !== 'offline') await b.client.put(path, { admin_state: 'offline', force: true });
  await b.client.delete(path);
}

/** Everything one run shares. */
class Run {
  results: CheckResult[] = [];
  calls: CallRecord[] = [];
  latencies: number[] = [];
  /** `call-out -> what kubelet did`, each time a Not supported answer made kubelet fall back (§6). */
  fallbacks: string[] = [];
  readonly runId = randomBytes(3).toString('hex');
  constructor(
    readonly o: FlexSanityOptions,
    readonly top: string,
    readonly backend: Backend,
    readonly credsFile: string,
    readonly iscsiadmBin: string,
  ) {}

  status(line: string): void {
    this.o.status?.(line);
  }

  record(id: string, suite: string, status: CheckResult['status'], durationMs: number, message?: string): CheckResult {
    const r: CheckResult = { id, suite, status, durationMs, ...(message !== undefined ? { message } : {}) };
    this.results.push(r);
    if (status === 'failed' || status === 'error') this.status(`${status.toUpperCase()} ${id}${message ? `: ${message}` : ''}`);
    return r;
  }

  /** Run one check: CheckFailed -> failed, anything else thrown -> error, a returned string -> passed with a note. */
  async check(id: string, suite: string, fn: () => Promise<string | void>): Promise<boolean> {
    const t0 = performance.now();
    try {
      const note = await fn();
      this.record(id, suite, 'passed', performance.now() - t0, note || undefined);
      return true;
    } catch (err) {
      this.record(id, suite, err instanceof CheckFailed ? 'failed' : 'error', performance.now() - t0, errorMessage(err));
      return false;
    }
  }

  node(caseRoot: string, name: string): Node {
    const root = join(caseRoot, name);
    return {
      name,
      iqn: `iqn.2026-11.dkc.flex-sanity:${this.runId}-${name}`,
      root,
      env: {
        ...process.env,
        PATH: `${this.iscsiadmBin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
        DKC_ISCSI_ROOT: join(root, 'iscsi'),
        DKC_KUBELET_ROOT: join(root, 'kubelet'),
        DATERA_FLEX_STATE_DIR: join(root, 'state'),
        DATERA_CREDENTIALS_FILE: this.credsFile,
        DATERA_FLEX_DEVICE_TIMEOUT: '60',
        NODE_NAME: name,
      },
      globalDir: (pv) => join(root, 'kubelet/plugins/kubernetes.io/flexvolume/datera/iscsi/mounts', pv),
      podDir: (uid, vol) => join(root, 'kubelet/pods', uid, 'volumes/datera~iscsi', vol),
    };
  }

  async makeNode(caseRoot: string, name: string): Promise<Node> {
    const n = this.node(caseRoot, name);
    await mkdir(join(n.root, 'iscsi/etc/iscsi'), { recursive: true });
    await writeFile(join(n.root, 'iscsi/etc/iscsi/initiatorname.iscsi'), `InitiatorName=${n.iqn}\n`);
    return n;
  }

  /** Exec the driver as kubelet does and read the answer with kubelet's rules. */
  async call(n: Node, argv: string[]): Promise<Outcome> {
    const r = await run([this.o.driver, ...argv], { env: n.env as NodeJS.ProcessEnv, nothrow: true, timeoutMs: argv[0] === 'waitforattach' ? 600_000 : 300_000 });
    const outcome = parseOutput(argv[0] ?? '', r.stdout, r.stderr, r.exitCode);
    this.calls.push({ node: n.name, argv, outcome, exitCode: r.exitCode });
    return outcome;
  }
}

/** Secrets as the PV's secretRef would carry them (the type-datera/iscsi secret). */
const secretsOf = (b: Backend) => ({ username: b.user, password: b.password, server: b.server });


/**
 * One kubelet call-out with §6 fallbacks: Success answers the status; Not supported makes kubelet do the work
 * itself (and answers what kubelet carries on with); anything else is the driver failing (CheckFailed).
 */
async function kubelet(r: Run, n: Node, p: K8sProfile, argv: string[], ctx: { device?: string; dir?: string; globalDir?: string; fsType?: string; ro?: boolean } = {}): Promise<DriverStatus> {
  const out = await r.call(n, argv);
  if (out.kind === 'success') return out.status!;
  if (out.kind === 'not-supported') {
    const fb = fallbackFor(p, argv[0]!, ctx);
    r.fallbacks.push(`${argv[0]} -> ${fb.action}`);
    // kubelet reaches its own mount code only for a dir that is not mounted yet (it checks first).
    const mounted = fb.action !== 'none' && (await mountAt(fb.dir)) !== undefined;
    switch (fb.action) {
      case 'format-and-mount':
      case 'mount-device':
        if (!mounted) await safeFormatAndMount(fb.device, fb.dir, ctx.fsType ?? '', ctx.ro ?? false);
        break;
      case 'bind-mount':
        if (mounted) break;
        await run(['mount', '--bind', fb.from, fb.dir]);
        if (ctx.ro) await run(['mount', '-o', 'remount,bind,ro', fb.dir]);
        break;
      case 'unmount':
        if (await mountAt(fb.dir)) await run(['umount', fb.dir]);
        break;
      case 'none':
        break;
    }
    return { status: 'Success', message: `(kubelet fallback after Not supported: ${fb.action})`, ...(fb.action === 'none' && fb.device !== undefined ? { device: fb.device } : {}), ...(fb.action === 'none' && fb.attached !== undefined ? { attached: fb.attached } : {}) };
  }
  return fail(`${argv[0]} on ${n.name}: ${out.error}`);
}

interface Mounted {
  device: string;
  global: string;
  pod: string;
  pv: string;
}

/** The kubelet sequence to a mounted pod volume: [getvolumename] attach [waitforattach] [mountdevice] mount. */
async function setUp(r: Run, n: Node, p: K8sProfile, v: VolumeSpec, pod: PodSpec, attachable: boolean, step?: (id: string) => void): Promise<Mounted> {
  const t0 = performance.now();
  const json = jsonArg(optionsFor(p, v, 'attach'));
  const gv = argvFor.getvolumename(p, jsonArg(optionsFor(p, v, 'getvolumename')));
  // The answer is ignored since 1.6.5 (and 1.6.0's use of it is a known bug): only the output rules apply.
  if (gv && attachable) await r.call(n, gv);
  let device = '';
  const global = n.globalDir(v.pvName);
  if (attachable) {
    step?.('attach');
    device = (await kubelet(r, n, p, argvFor.attach(p, json, n.name))).device ?? '';
    const wfa = argvFor.waitforattach(p, device, jsonArg(optionsFor(p, v, 'waitforattach')));
    if (wfa) {
      step?.('waitforattach');
      device = (await kubelet(r, n, p, wfa, { device })).device ?? device;
    }
    const md = argvFor.mountdevice(p, global, device, jsonArg(optionsFor(p, v, 'mountdevice')));
    if (md) {
      step?.('mountdevice');
      await mkdir(global, { recursive: true, mode: 0o750 });
      // kubelet skips mountdevice when the global dir is already a mount point.
      if (!(await mountAt(global))) await kubelet(r, n, p, md, { device, dir: global, fsType: v.fsType, ro: v.readOnly });
    }
  }
  step?.('mount');
  const podDir = n.podDir(pod.uid, v.pvName);
  await mkdir(podDir, { recursive: true, mode: 0o750 });
  const mountJson = jsonArg(optionsFor(p, v, 'mount', { pod, secrets: secretsOf(r.backend) }));
  if (!(await mountAt(podDir))) await kubelet(r, n, p, argvFor.mount(p, podDir, device, mountJson), { device, dir: podDir, globalDir: global, fsType: v.fsType, ro: v.readOnly });
  r.latencies.push(performance.now() - t0);
  if (!(await mountAt(podDir))) fail(`mount on ${n.name} answered Success but ${podDir} is not a mount point`);
  return { device, global, pod: podDir, pv: v.pvName };
}

/** The kubelet teardown: unmount, [unmountdevice], detach (1.5: detach <source device of the pod mount>). */
async function tearDown(r: Run, n: Node, p: K8sProfile, m: Mounted, attachable: boolean, step?: (id: string) => void): Promise<void> {
  const source = (await mountAt(m.pod))?.source.replace(/\[.*\]$/, '') ?? m.device;
  step?.('unmount');
  if (await exists(m.pod)) {
    await kubelet(r, n, p, argvFor.unmount(m.pod), { dir: m.pod });
    if (await mountAt(m.pod)) fail(`unmount on ${n.name} answered Success but ${m.pod} is still a mount point`);
    await rmdir(m.pod).catch(() => undefined);
  }
  if (!attachable) return;
  const umd = argvFor.unmountdevice(p, m.global);
  if (umd) {
    step?.('unmountdevice');
    // kubelet skips unmountdevice when the global dir is not mounted, and removes the dir afterwards.
    if (await mountAt(m.global)) {
      await kubelet(r, n, p, umd, { dir: m.global });
      if (await mountAt(m.global)) fail(`unmountdevice on ${n.name} answered Success but ${m.global} is still a mount point`);
    }
    await rmdir(m.global).catch(() => undefined);
  }
  step?.('detach');
  await kubelet(r, n, p, argvFor.detach(p, m.pv, n.name, source));
}

async function fsUuid(device: string): Promise<string> {
  const res = await run(['blkid', '-p', '-o', 'value', '-s', 'UUID', device], { nothrow: true });
  return res.stdout.trim();
}

async function writeData(dir: string, content: Buffer): Promise<void> {
  const f = await open(join(dir, 'flex-sanity.dat'), 'w');
  try {
    await f.writeFile(content);
    await f.sync();
  } finally {
    await f.close();
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

async function sessionsOn(r: Run, n: Node): Promise<string[]> {
  const res = await run(['iscsiadm', '-m', 'session'], { env: n.env as NodeJS.ProcessEnv, nothrow: true });
  return res.exitCode === 0 ? res.stdout.split('\n').filter((l) => l.trim()) : [];
}

/** What the driver left behind under `caseRoot`, on the target side, and in the backend. Empty: nothing. */
async function leaks(r: Run, caseRoot: string, nodes: Node[], volumes: { name: string; retained: boolean }[]): Promise<{ problems: string[]; notes: string[] }> {
  const problems: string[] = [];
  const notes: string[] = [];
  const mounts = (await readMounts()).filter((m) => under(m.target, caseRoot));
  if (mounts.length) problems.push(`mounts left: ${mounts.map((m) => `${m.target} (${m.fstype})`).join(', ')}`);
  const loops = await run(['losetup', '-l', '-n', '-O', 'NAME,BACK-FILE'], { nothrow: true });
  const myLoops = loops.stdout.split('\n').filter((l) => l.includes(caseRoot));
  if (myLoops.length) problems.push(`loop devices left: ${myLoops.map((l) => l.trim().replace(/\s+/g, ' ')).join('; ')}`);
  const qsd: string[] = [];
  for (const pid of (await readdir('/proc')).filter((x) => /^\d+$/.test(x))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('qemu-storage-daemon') && cmd.includes(caseRoot)) qsd.push(pid);
  }
  if (qsd.length) problems.push(`qemu-storage-daemon processes left (FUSE exports): pids ${qsd.join(', ')}`);
  for (const n of nodes) {
    const s = await sessionsOn(r, n);
    if (s.length) problems.push(`${n.name}: iscsiadm -m session lists ${s.join('; ')}`);
  }
  const iqns = new Set(nodes.map((n) => n.iqn));
  if (r.backend.mock) {
    const snap = await r.backend.mock.snapshot();
    const sess = snap.targets.flatMap((t) => t.sessions.filter((s) => iqns.has(s.initiator)).map((s) => `${s.initiator} on ${t.iqn}`));
    if (sess.length) problems.push(`target sessions left: ${sess.join(', ')}`);
    const acl = snap.targets.flatMap((t) => t.acl.filter((a) => iqns.has(a)).map((a) => `${a} on ${t.iqn}`));
    if (acl.length) problems.push(`target ACL entries left: ${acl.join(', ')}`);
  } else notes.push('target-side sessions and ACLs not inspected (mock-only; --backend given)');
  for (const v of volumes) {
    const ai = await aiInfo(r.backend, v.name);
    const mine = ai.acl.filter((a) => iqns.has(a));
    if (mine.length) problems.push(`${v.name}: ACL still lists ${mine.join(', ')}`);
    if (v.retained && !ai.present) problems.push(`${v.name}: deleted from the backend although retainPolicy is retain`);
    if (!v.retained && ai.present) problems.push(`${v.name}: still on the backend although retainPolicy is never`);
  }
  return { problems, notes };
}

/** After every case, whatever the driver did: unmount, log out, delete the case's volumes, remove its roots. */
async function cleanUp(r: Run, caseRoot: string, nodes: Node[], volumes: string[]): Promise<void> {
  // Loops first: after their FUSE exports are unmounted nothing names them any more.
  await detachLoopsUnder(caseRoot);
  const left = (await readMounts()).filter((m) => under(m.target, caseRoot)).map((m) => m.target);
  for (const m of left.sort().reverse()) await run(['umount', '-l', m], { nothrow: true });
  for (const n of nodes) await run(['iscsiadm', '-m', 'node', '--logoutall=all'], { env: n.env as NodeJS.ProcessEnv, nothrow: true });
  for (const v of volumes) await destroyAi(r.backend, v).catch((err: unknown) => r.status(`cleanup: could not delete ${v}: ${errorMessage(err)}`));
  if ((await readMounts()).some((m) => under(m.target, caseRoot))) r.status(`cleanup: mounts remain under ${caseRoot}; leaving it in place`);
  else await rm(caseRoot, { recursive: true, force: true });
}

const vol = (r: Run, p: K8sProfile, tag: string, fsType: string, extra: Record<string, string> = {}): VolumeSpec => {
  const name = `fs-${r.runId}-${p.version.replace('.', '-')}-${tag}`;
  return { pvName: `pv-${name}`, fsType, readOnly: false, options: { volumeID: name, size: '1', replica: '1', ...extra } };
};

const podOf = (name: string): PodSpec => ({ name, namespace: 'flex-sanity', uid: randomUUID(), serviceAccount: 'default', fsGroup: 2000 });

/** Checks whose id must not depend on which step broke: the rest of a sequence is skipped with the reason. */
class Sequence {
  blocked: string | undefined;
  constructor(
    readonly r: Run,
    readonly p: K8sProfile,
  ) {}
  async step(name: string, fn: () => Promise<string | void>): Promise<boolean> {
    const id = checkId(this.p, name);
    if (this.blocked) {
      this.r.record(id, suiteLabel(this.p), 'skipped', 0, `not run: ${this.blocked} did not pass`);
      return false;
    }
    const ok = await this.r.check(id, suiteLabel(this.p), fn);
    if (!ok) this.blocked = id;
    return ok;
  }
  /** A check that does not stop the sequence (but is skipped when the sequence already stopped). */
  async also(name: string, fn: () => Promise<string | void>): Promise<boolean> {
    const id = checkId(this.p, name);
    if (this.blocked) {
      this.r.record(id, suiteLabel(this.p), 'skipped', 0, `not run: ${this.blocked} did not pass`);
      return false;
    }
    return this.r.check(id, suiteLabel(this.p), fn);
  }
}

async function caseLifecycle(r: Run, p: K8sProfile, attachable: boolean): Promise<void> {
  const caseRoot = join(r.top, p.version, 'lifecycle');
  const [a, b] = [await r.makeNode(caseRoot, 'node-a'), await r.makeNode(caseRoot, 'node-b')];
  // ext4, not the reference driver's default (xfs): a driver that ignores fsType shows.
  const v = vol(r, p, 'life', 'ext4');
  const seq = new Sequence(r, p);
  const data = randomBytes(1 << 20);
  let m: Mounted | undefined;
  let uuidA = '';
  try {
    await seq.step('lifecycle/set-up', async () => {
      m = await setUp(r, a, p, v, podOf('sanity-a'), attachable);
      return `attach to mounted ${Math.round(r.latencies[r.latencies.length - 1]!)} ms`;
    });
    if (m && attachable && !p.legacy) {
      const iatt = argvFor.isattached(p, jsonArg(optionsFor(p, v, 'isattached')), a.name)!;
      await seq.also('isattached/after-attach', async () => {
        const o = await r.call(a, iatt);
        if (o.kind === 'not-supported') return 'Not supported: kubelet assumes attached';
        if (o.kind !== 'success') fail(o.error!);
        if (o.status!.attached !== true) fail(`isattached answered attached=${o.status!.attached} right after attach`);
      });
    }
    await seq.also('fs/fstype-honoured', async () => {
      const mm = await mountAt(m!.pod);
      if (!mm || mm.fstype !== v.fsType) throw new CheckFailed(`fsType ${v.fsType} requested, ${m!.pod} is ${mm?.fstype ?? 'not mounted'}`);
      uuidA = await fsUuid(mm.source.replace(/\[.*\]$/, ''));
    });
    await seq.also('mount/readwrite-honoured', async () => {
      const mm = await mountAt(m!.pod);
      if (!mm?.options.includes('rw')) fail(`kubernetes.io/readwrite=rw requested, ${m!.pod} is mounted ${mm?.options.join(',') ?? '(nothing)'}`);
      const probe = join(m!.pod, '.flex-sanity-rw-probe');
      await writeFile(probe, 'x').catch((err: NodeJS.ErrnoException) => fail(`rw mount refuses writes: ${err.code ?? errorMessage(err)}`));
      await rm(probe, { force: true });
    });
    // Not a blocking step: a driver that mounts read-only should still show how it tears down.
    await seq.also('lifecycle/write', async () => {
      await writeData(m!.pod, data).catch((err: NodeJS.ErrnoException) => fail(`writing 1 MiB into ${m!.pod}: ${err.code ?? errorMessage(err)}`));
      return `1 MiB, sha256 ${sha(data)}`;
    });
    await seq.step('lifecycle/tear-down', () => tearDown(r, a, p, m!, attachable));
    if (attachable) {
      await seq.also('teardown/sessions-logged-out', async () => {
        const s = await sessionsOn(r, a);
        const onTarget = r.backend.mock ? (await r.backend.mock.snapshot()).targets.flatMap((t) => t.sessions.filter((x) => x.initiator === a.iqn).map(() => t.iqn)) : [];
        if (s.length || onTarget.length) fail(`after unmountdevice and detach ${a.name} is still logged in: ${[...s, ...onTarget.map((t) => `target ${t} has a session from ${a.iqn}`)].join('; ')}`);
      });
      await seq.also('teardown/acl-removed', async () => {
        const ai = await aiInfo(r.backend, v.options.volumeID!);
        if (ai.acl.includes(a.iqn)) fail(`after detach ${a.iqn} is still in the ACL of ${v.options.volumeID}`);
      });
      if (!p.legacy)
        await seq.also('isattached/after-detach', async () => {
          const o = await r.call(a, argvFor.isattached(p, jsonArg(optionsFor(p, v, 'isattached')), a.name)!);
          if (o.kind === 'not-supported') return 'Not supported: kubelet assumes attached';
          if (o.kind !== 'success') fail(o.error!);
          if (o.status!.attached !== false) fail(`isattached answered attached=${o.status!.attached} after detach`);
        });
    }
    let mb: Mounted | undefined;
    await seq.step('lifecycle/reattach-elsewhere', async () => {
      mb = await setUp(r, b, p, v, podOf('sanity-b'), attachable);
      return `attach to mounted on ${b.name} ${Math.round(r.latencies[r.latencies.length - 1]!)} ms`;
    });
    await seq.also('fs/no-reformat', async () => {
      const mm = await mountAt(mb!.pod);
      const uuidB = await fsUuid(mm!.source.replace(/\[.*\]$/, ''));
      if (uuidA && uuidB !== uuidA) fail(`the filesystem was recreated: uuid ${uuidA} on ${a.name}, ${uuidB} on ${b.name}`);
    });
    await seq.also('lifecycle/data-survives-reattach', async () => {
      const back = await readFile(join(mb!.pod, 'flex-sanity.dat')).catch((err: NodeJS.ErrnoException) => fail(`reading back on ${b.name}: ${err.code ?? errorMessage(err)}`));
      if (sha(back) !== sha(data)) fail(`read back ${back.length} bytes, sha256 ${sha(back)}; wrote ${data.length}, sha256 ${sha(data)}`);
    });
    await seq.step('lifecycle/teardown-elsewhere', () => tearDown(r, b, p, mb!, attachable));
    await seq.also('leaks/after-lifecycle', async () => {
      const l = await leaks(r, caseRoot, [a, b], [{ name: v.options.volumeID!, retained: true }]);
      if (l.problems.length) fail(l.problems.join('; '));
      return l.notes.join('; ');
    });
  } finally {
    await cleanUp(r, caseRoot, [a, b], [v.options.volumeID!]);
  }
}

async function caseIdempotent(r: Run, p: K8sProfile, attachable: boolean): Promise<void> {
  const caseRoot = join(r.top, p.version, 'idempotent');
  const a = await r.makeNode(caseRoot, 'node-a');
  const v = vol(r, p, 'idem', '');
  const n = r.o.repeats ?? 3;
  const seq = new Sequence(r, p);
  const json = (c: Parameters<typeof optionsFor>[2]) => jsonArg(optionsFor(p, v, c, c === 'mount' ? { pod: podOf('idem'), secrets: secretsOf(r.backend) } : {}));
  const pod = podOf('sanity-idem');
  const global = a.globalDir(v.pvName);
  const podDir = a.podDir(pod.uid, v.pvName);
  let device = '';
  let source = '';
  const fbCtx = { globalDir: global, fsType: v.fsType, ro: v.readOnly };
  const times = async (argv: string[], check?: (s: DriverStatus, i: number) => void, ctx: Parameters<typeof kubelet>[4] = {}) => {
    for (let i = 0; i < n; i++) {
      const s = await kubelet(r, a, p, argv, ctx);
      check?.(s, i);
    }
  };
  const na = (call: string) => `v${p.version.slice(1)} kubelet has no ${call} call-out`;
  const skipIf = async (cond: boolean, name: string, why: string, fn: () => Promise<string | void>) => {
    if (cond) r.record(checkId(p, name), suiteLabel(p), 'skipped', 0, why);
    else await seq.step(name, fn);
  };
  try {
    if (!attachable) {
      r.record(checkId(p, 'idempotent/attach'), suiteLabel(p), 'skipped', 0, 'driver reports attach:false');
    } else {
      await seq.step('idempotent/attach', () =>
        times(argvFor.attach(p, json('attach'), a.name), (s, i) => {
          if (i === 0) device = s.device ?? '';
          else if ((s.device ?? '') !== device) fail(`attach #${i + 1} answered device ${s.device}, the first answered ${device}`);
        }),
      );
      await skipIf(p.legacy, 'idempotent/waitforattach', na('waitforattach'), () =>
        times(argvFor.waitforattach(p, device, json('waitforattach'))!, (s, i) => {
          if ((s.device ?? '') !== device) fail(`waitforattach #${i + 1} answered ${s.device}, attach answered ${device}`);
        }),
      );
      await skipIf(p.legacy, 'idempotent/mountdevice', na('mountdevice'), async () => {
        await mkdir(global, { recursive: true, mode: 0o750 });
        // Called even on a mounted dir: kubelet after a restart, or a race, does exactly that.
        await times(argvFor.mountdevice(p, global, device, json('mountdevice'))!, undefined, { ...fbCtx, device, dir: global });
        const c = await mountCount(global);
        if (device && c !== 1) fail(`${n} mountdevice calls left ${c} mounts stacked at ${global}`);
      });
    }
    await seq.step('idempotent/mount', async () => {
      await mkdir(podDir, { recursive: true, mode: 0o750 });
      await times(argvFor.mount(p, podDir, device, json('mount')), undefined, { ...fbCtx, device, dir: podDir });
      const c = await mountCount(podDir);
      if (c !== 1) fail(`${n} mount calls left ${c} mounts stacked at ${podDir}`);
      source = (await mountAt(podDir))!.source.replace(/\[.*\]$/, '');
    });
    await seq.step('idempotent/unmount', async () => {
      // The first on a mounted dir; the repeats on a dir kubelet already removed.
      for (let i = 0; i < n; i++) {
        await kubelet(r, a, p, argvFor.unmount(podDir), { dir: podDir });
        await rmdir(podDir).catch(() => undefined);
      }
      if (await mountAt(podDir)) fail(`${podDir} still mounted`);
    });
    if (attachable) {
      await skipIf(p.legacy, 'idempotent/unmountdevice', na('unmountdevice'), async () => {
        for (let i = 0; i < n; i++) {
          await kubelet(r, a, p, argvFor.unmountdevice(p, global)!, { dir: global });
          await rmdir(global).catch(() => undefined);
        }
        if (await mountAt(global)) fail(`${global} still mounted`);
      });
      await seq.step('idempotent/detach', () => times(argvFor.detach(p, v.pvName, a.name, source)));
      await skipIf(p.legacy, 'idempotent/isattached-after-detach', na('isattached'), async () => {
        const o = await r.call(a, argvFor.isattached(p, json('isattached'), a.name)!);
        if (o.kind === 'not-supported') return 'Not supported: kubelet assumes attached';
        if (o.kind !== 'success') fail(o.error!);
        if (o.status!.attached !== false) fail(`isattached answered attached=${o.status!.attached} after detach`);
      });
    }
    await seq.also('leaks/after-idempotent', async () => {
      const l = await leaks(r, caseRoot, [a], [{ name: v.options.volumeID!, retained: true }]);
      if (l.problems.length) fail(l.problems.join('; '));
      return l.notes.join('; ');
    });
  } finally {
    await cleanUp(r, caseRoot, [a], [v.options.volumeID!]);
  }
}

async function caseBadArgs(r: Run, p: K8sProfile): Promise<void> {
  const caseRoot = join(r.top, p.version, 'bad-args');
  const a = await r.makeNode(caseRoot, 'node-a');
  const dir = join(a.root, 'kubelet/pods/bad/volumes/datera~iscsi/bad');
  await mkdir(dir, { recursive: true });
  const cases: [string, string[]][] = [
    ['attach-missing-json', ['attach']],
    ['attach-garbled-json', ['attach', '{"volumeID":', a.name]],
    ['attach-json-not-object', ['attach', '["volumeID"]', a.name]],
    ['attach-option-not-string', ['attach', '{"volumeID":{"x":1}}', a.name]],
    ['isattached-missing-args', ['isattached']],
    ['waitforattach-missing-args', ['waitforattach']],
    ['mountdevice-missing-args', ['mountdevice', dir]],
    ['mountdevice-garbled-json', ['mountdevice', dir, '/dev/flex-sanity-nonexistent', '{bad']],
    ['mount-missing-args', ['mount']],
    ['mount-garbled-json', ['mount', dir, '{bad']],
    ['unmount-missing-dir', ['unmount']],
    ['unmountdevice-missing-dir', ['unmountdevice']],
    ['detach-missing-args', ['detach']],
  ];
  try {
    for (const [name, argv] of cases)
      await r.check(checkId(p, `bad-args/${name}`), suiteLabel(p), async () => {
        const o = await r.call(a, argv);
        // A call-out the driver does not implement at all is answered Not supported whatever its arguments.
        if (o.kind === 'not-supported') return `Not supported: the driver leaves ${argv[0]} to kubelet`;
        if (o.kind !== 'failure') fail(`expected a Failure answer, got ${o.kind}${o.error ? ` (${o.error})` : ''}${o.status ? `: ${JSON.stringify(o.status)}` : ''}`);
        if (!o.status!.message?.trim()) fail('Failure without a message (kubelet logs the message; it must say what is wrong)');
        if (r.calls[r.calls.length - 1]!.exitCode === 0) return `Failure with exit 0 (kubelet ignores the exit code for non-Success answers): ${o.status!.message}`;
      });
    await r.check(checkId(p, 'leaks/after-bad-args'), suiteLabel(p), async () => {
      const l = await leaks(r, caseRoot, [a], []);
      if (l.problems.length) fail(l.problems.join('; '));
    });
  } finally {
    await cleanUp(r, caseRoot, [a], []);
  }
}

async function caseNotSupported(r: Run, p: K8sProfile): Promise<void> {
  const caseRoot = join(r.top, p.version, 'not-supported');
  const a = await r.makeNode(caseRoot, 'node-a');
  const v = vol(r, p, 'ns', '');
  try {
    await r.check(checkId(p, 'not-supported/unknown-callout'), suiteLabel(p), async () => {
      const o = await r.call(a, ['flex-sanity-unknown-callout', '{}']);
      if (o.kind !== 'not-supported') fail(`an unknown call-out must answer {"status":"Not supported"} (kubelet then falls back), got ${o.kind}: ${o.error ?? JSON.stringify(o.status)}`);
    });
    const gv = argvFor.getvolumename(p, jsonArg(optionsFor(p, v, 'getvolumename')));
    if (!gv) r.record(checkId(p, 'not-supported/getvolumename'), suiteLabel(p), 'skipped', 0, `${p.version} kubelet has no getvolumename call-out`);
    else
      await r.check(checkId(p, 'not-supported/getvolumename'), suiteLabel(p), async () => {
        const o = await r.call(a, gv);
        if (o.kind === 'not-supported') return 'Not supported: kubelet uses the PV name';
        if (o.kind !== 'success') fail(`getvolumename must answer Success or Not supported, got ${o.kind}: ${o.error}`);
        if (!o.status!.volumeName) fail('getvolumename answered Success without volumeName');
      });
  } finally {
    await cleanUp(r, caseRoot, [a], []);
  }
}

async function caseParallel(r: Run, p: K8sProfile, attachable: boolean): Promise<void> {
  const caseRoot = join(r.top, p.version, 'parallel');
  const a = await r.makeNode(caseRoot, 'node-a');
  // One volume per retainPolicy: the leak check then also sees that never deletes and retain keeps.
  const vs = [vol(r, p, 'par1', 'xfs'), vol(r, p, 'par2', 'ext4', { retainPolicy: 'never' })];
  const seq = new Sequence(r, p);
  try {
    await seq.step('parallel/two-volumes', async () => {
      const ms = await Promise.all(vs.map((v, i) => setUp(r, a, p, v, podOf(`sanity-par${i}`), attachable)));
      const datas = vs.map(() => randomBytes(256 << 10));
      await Promise.all(ms.map((m, i) => writeData(m.pod, datas[i]!)));
      const srcs = await Promise.all(ms.map(async (m) => (await mountAt(m.pod))?.source));
      if (srcs[0] === srcs[1]) fail(`both volumes are mounted from the same source ${srcs[0]}`);
      for (const [i, m] of ms.entries()) {
        const back = await readFile(join(m.pod, 'flex-sanity.dat'));
        if (sha(back) !== sha(datas[i]!)) fail(`${m.pv} reads back other data than was written to it`);
      }
      await Promise.all(ms.map((m) => tearDown(r, a, p, m, attachable)));
    });
    // The same volume set up and torn down back to back (a pod deleted and recreated at once): no stale state.
    await seq.also('parallel/same-volume-repeated', async () => {
      const v = vs[0]!;
      for (let i = 0; i < 3; i++) {
        const m = await setUp(r, a, p, v, podOf(`sanity-rep${i}`), attachable);
        const back = await readFile(join(m.pod, 'flex-sanity.dat')).catch(() => undefined);
        if (!back) fail(`round ${i + 1}: the data written earlier is gone`);
        await writeData(m.pod, back!);
        await tearDown(r, a, p, m, attachable);
      }
      return '3 rounds';
    });
    await seq.also('leaks/after-parallel', async () => {
      const l = await leaks(r, caseRoot, [a], vs.map((v) => ({ name: v.options.volumeID!, retained: v.options.retainPolicy !== 'never' })));
      if (l.problems.length) fail(l.problems.join('; '));
      return l.notes.join('; ');
    });
  } finally {
    await cleanUp(r, caseRoot, [a], vs.map((v) => v.options.volumeID!));
  }
}

/** init, once per profile: Success, a capabilities object, one JSON object. Answers whether the driver is attachable. */
async function caseInit(r: Run, p: K8sProfile): Promise<boolean> {
  let attachable = true;
  const n = r.node(join(r.top, p.version, 'init'), 'node-a');
  await r.check(checkId(p, 'init/capabilities'), suiteLabel(p), async () => {
    const o = await r.call(n, argvFor.init());
    if (o.kind !== 'success') fail(`init must answer Success: ${o.error ?? JSON.stringify(o.status)}`);
    const caps = o.status!.capabilities;
    if (!caps) fail('init answered no capabilities object');
    // 1.6 treated every driver as attachable; attach:false means something from 1.7 on.
    if (caps!.attach === false && p.podInfo) attachable = false;
    return `capabilities ${JSON.stringify(caps)}`;
  });
  return attachable;
}

/** Output rules over every call-out this profile made: one JSON object, nothing on stderr, no Success with an error exit. */
function outputChecks(r: Run, p: K8sProfile, calls: CallRecord[]): void {
  const offenders = calls.filter((c) => c.outcome.violations.length);
  const bad = offenders.map((c) => `${c.node}: ${c.argv[0]}: ${c.outcome.violations.join('; ')}`);
  r.record(checkId(p, 'output/single-json-object'), suiteLabel(p), bad.length ? 'failed' : 'passed', 0, bad.length ? `${offenders.length} of ${calls.length} call-outs: ${bad.slice(0, 3).join(' | ')}` : `${calls.length} call-outs`);
  const bugs = calls.filter((c) => c.outcome.kind === 'driver-bug').map((c) => `${c.node}: ${c.outcome.error}`);
  r.record(checkId(p, 'output/exit-code-matches-status'), suiteLabel(p), bugs.length ? 'failed' : 'passed', 0, bugs.length ? bugs.slice(0, 5).join(' | ') : undefined);
}

async function preflight(o: FlexSanityOptions, iscsiadmBin: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'flex-sanity needs root (mkfs, mounts, loop devices, tgtd)';
  try {
    await access(o.driver, constants.X_OK);
  } catch {
    return `driver ${o.driver} is not an executable file`;
  }
  if (!existsSync(join(iscsiadmBin, 'iscsiadm'))) return `no userspace iscsiadm at ${iscsiadmBin}/iscsiadm (build the checkout: npm run build)`;
  for (const tool of ['mkfs.xfs', 'mkfs.ext4', 'blkid', 'losetup', 'mount', 'umount', ...(o.backend ? [] : ['tgtd'])])
    if (!(await which(tool))) return `${tool} is not installed (run: npm run setup)`;
  return undefined;
}

/** Run every selected profile; never throws for a driver's misbehaviour (that is a failed check). */
export async function runFlexSanity(o: FlexSanityOptions): Promise<FlexSanityReport> {
  const iscsiadmBin = resolve(o.iscsiadmBin ?? defaultIscsiadmBin());
  const report: FlexSanityReport = { results: [], timings: [], attachToMountedMs: [] };
  const why = await preflight(o, iscsiadmBin);
  if (why) {
    report.results.push({ id: 'flex-sanity/preflight', suite: 'flex-sanity', status: 'error', durationMs: 0, message: why });
    return report;
  }
  const ownTop = !o.nodesDir;
  const top = o.nodesDir ? resolve(o.nodesDir) : await mkdtemp(join(tmpdir(), 'dkc-flex-sanity-'));
  await mkdir(top, { recursive: true });
  let backend: Backend | undefined;
  let r: Run | undefined;
  try {
    if (o.backend) {
      backend = { server: o.backend.url, user: o.backend.user, password: o.backend.password, client: new DateraClient({ server: o.backend.url, user: o.backend.user, password: o.backend.password }) };
    } else {
      o.status?.('starting the mock Datera API with tgtd targets');
      const { MockDatera } = await import('../../mocks/datera/mock-datera.js');
      const password = randomBytes(12).toString('base64url');
      const mock = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'process', users: { admin: password } }).start();
      backend = { server: mock.server, user: 'admin', password, client: new DateraClient({ server: mock.server, user: 'admin', password }), mock };
    }
    const credsFile = join(top, 'node-credentials.json');
    await writeFile(credsFile, JSON.stringify({ server: backend.server, user: backend.user, password: backend.password }), { mode: 0o600 });
    r = new Run(o, top, backend, credsFile, iscsiadmBin);
    const run1 = r;
    const extended = o.extended ?? 'newest';
    const cases = new Set(o.cases ?? ['idempotent', 'bad-args', 'not-supported', 'parallel']);
    for (const [i, p] of o.profiles.entries()) {
      if (o.signal?.aborted) break;
      const t0 = performance.now();
      const from = run1.calls.length;
      const fbFrom = run1.fallbacks.length;
      o.status?.(`${suiteLabel(p)}: lifecycle`);
      const attachable = await caseInit(run1, p);
      await caseLifecycle(run1, p, attachable);
      const full = extended === 'all' || (extended === 'newest' && i === o.profiles.length - 1);
      if (full) {
        if (cases.has('idempotent') && !o.signal?.aborted) await caseIdempotent(run1, p, attachable);
        if (cases.has('bad-args') && !o.signal?.aborted) await caseBadArgs(run1, p);
        if (cases.has('not-supported') && !o.signal?.aborted) await caseNotSupported(run1, p);
        if (cases.has('parallel') && !o.signal?.aborted) await caseParallel(run1, p, attachable);
      }
      outputChecks(run1, p, run1.calls.slice(from));
      const used = [...new Set(run1.fallbacks.slice(fbFrom))];
      // The fallbacks' effect is judged by the lifecycle checks; this one says which were exercised at all.
      run1.record(checkId(p, 'not-supported/fallbacks'), suiteLabel(p), used.length ? 'passed' : 'skipped', 0, used.length ? `kubelet fell back for: ${used.join(', ')}` : 'the driver answered every call-out itself; no kubelet fallback exercised');
      report.timings.push({ profile: p.version, ms: performance.now() - t0 });
    }
    if (o.signal?.aborted) run1.record('flex-sanity/interrupted', 'flex-sanity', 'error', 0, 'interrupted: the remaining cases did not run');
    return report;
  } catch (err) {
    report.results.push({ id: 'flex-sanity/run', suite: 'flex-sanity', status: 'error', durationMs: 0, message: err instanceof HarnessError || err instanceof Error ? err.message : String(err) });
    return report;
  } finally {
    if (r) {
      report.results = [...r.results, ...report.results];
      report.attachToMountedMs = r.latencies;
    }
    if (backend) await backend.client.put('/logout', {}).catch(() => undefined);
    await backend?.mock?.stop();
    // The node credentials file holds the password: never left behind, not even in a --nodes-dir the user keeps.
    await rm(join(top, 'node-credentials.json'), { force: true });
    for (const p of o.profiles) await rmdir(join(top, p.version)).catch(() => undefined);
    if (ownTop) {
      if ((await readMounts()).some((m) => under(m.target, top))) o.status?.(`mounts remain under ${top}; leaving it in place`);
      else await rm(top, { recursive: true, force: true });
    }
  }
}
