/**
 * The embedded cluster: one process hosting a Kubernetes-API-compatible control plane (store, admission,
 * controllers, HTTPS API server with a generated CA and kubeconfig) and N node agents (kubelets with their own
 * network namespaces, pod networks, FlexVolume plugin dirs and userspace or real iSCSI), plus by default the mock
 * Datera API with real tgt targets and the dynamic provisioner. Creation is an ordered list of steps, each pushing
 * its undo onto a ledger; stop() (and any failed start) runs the ledger backwards, so nothing outlives the cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { run, which } from '../../lib/exec.js';
import { HarnessError } from '../../lib/errors.js';
import { UndoLedger } from '../../lib/ledger.js';
import { detachLoopsUnder, readMounts, under } from '../../lib/mounts.js';
import { MockDatera, type StartedMockDatera } from '../../mocks/datera/mock-datera.js';
import type { BackendInfo, ClusterNodeInfo, NodeAccess, NodeCommandResult, StartedCluster } from '../provider.js';
import { emulatedLabel, type ClusterProfile } from './profiles.js';
import { resourcesFor } from './apiserver/resources.js';
import { Store, type KObject } from './apiserver/store.js';
import { createPki, kubeconfigYaml } from './apiserver/pki.js';
import { ApiServer, type ServerParts } from './apiserver/server.js';
import { apiGroup, apiResourceList, rootDiscovery, versionInfo } from './apiserver/discovery.js';
import { openapiV2, openapiV3 } from './apiserver/openapi.js';
import { toTable } from './apiserver/tables.js';
import { applyPatch } from './apiserver/patch.js';
import { checkFields } from './apiserver/field-validation.js';
import { createAdmission } from './apiserver/admission.js';
import { handleStreamUpgrade, type ExecStreams } from './apiserver/streaming/index.js';
import { EventRecorder, type ControllerContext } from './controllers/framework.js';
import { startControllers, bootstrapCluster } from './controllers/index.js';
import { ClusterNetwork } from './node/runtime/network.js';
import { ContainerRuntime, readContainerLogs } from './node/runtime/containers.js';
import { FlexVolumes, type FlexCall } from './node/flex-volumes.js';
import { AttachRegistry, Kubelet } from './node/kubelet.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The checkout (or installed package) root: two levels above clusters/embedded in both src and dist layouts. */
export function packageRoot(): string {
  const up = resolve(here, '..', '..');
  return up.endsWith('/dist') ? resolve(up, '..') : up;
}

export interface EmbeddedClusterOptions {
  profile: ClusterProfile;
  /** Node count (default 2). */
  nodes?: number;
  /** Where everything lives; default a fresh dkc-embedded-* temp dir, removed at stop. */
  workDir?: string;
  /** Also write the kubeconfig here. */
  kubeconfigPath?: string;
  /** 'mock' (default): start the mock Datera API and tgt targets; or a real system. */
  backend?: 'mock' | Omit<BackendInfo, 'kind'>;
  /** FlexVolume driver executable installed as datera~iscsi/iscsi on every node; default the reference driver. */
  driver?: string;
  /** Run the dynamic provisioner (default true). */
  provisioner?: boolean;
  /** Cluster id (see newClusterId); fixed by callers that record it before start, so a killed start can be swept. */
  id?: string;
  /** Persist API objects into this directory. */
  persistDir?: string;
  /** API server port (default: any free one). */
  port?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

interface NodeHandle {
  name: string;
  root: string;
  env: NodeJS.ProcessEnv;
  kubelet: Kubelet;
  runtime: ContainerRuntime;
}

export class EmbeddedCluster implements StartedCluster {
  readonly provider = 'embedded' as const;
  /** Names this cluster's network namespaces, links and initiators: `e` and 8 hex digits. */
  readonly id: string;
  private readonly ledger = new UndoLedger();
  readonly nodeHandles: NodeHandle[] = [];
  readonly flexCalls: FlexCall[] = [];
  readonly requestLog: { method: string; path: string; code: number; ms: number }[] = [];
  store!: Store;
  server!: ApiServer;
  events!: EventRecorder;
  mock: StartedMockDatera | undefined;
  network!: ClusterNetwork;
  workDir = '';
  kubeconfigPath = '';
  backend: BackendInfo | undefined;
  private provisionerProc: ChildProcess | undefined;
  private provisionerLog = '';
  private stopping: Promise<string[]> | undefined;

  private constructor(readonly o: EmbeddedClusterOptions) {
    this.id = o.id ?? newClusterId();
  }

  get version(): string {
    return `${this.o.profile.release} (emulated)`;
  }

  get label(): string {
    return emulatedLabel(this.o.profile);
  }

  static async start(o: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
    const c = new EmbeddedCluster(o);
    live.add(c);
    try {
      await c.up();
    } catch (err) {
      const left = await c.stop();
      if (left.length) (err as Error).message += ` (cleanup after the failed start left: ${left.join('; ')})`;
      throw err;
    }
    return c;
  }

  private log(msg: string, fields?: Record<string, unknown>): void {
    this.o.log?.(msg, fields);
  }

  private undo(what: string, fn: () => Promise<unknown>): void {
    this.ledger.push(what, fn);
  }

  private async up(): Promise<void> {
    const o = this.o;
    const p = o.profile;
    if (process.getuid?.() !== 0) throw new HarnessError('NOT_ROOT', 'the embedded cluster needs root (network namespaces, mounts, loop devices); run as root or use --cluster kind/existing');
    for (const tool of ['ip', 'nsenter', 'unshare', 'mount', 'busybox', 'mariadbd', 'openssl'])
      if (!(await which(tool))) throw new HarnessError('MISSING_TOOL', `${tool} is not installed; run npm run setup (it installs the embedded cluster's Debian packages)`);
    this.workDir = o.workDir ?? (await mkdtemp(join(tmpdir(), 'dkc-embedded-')));
    if (!o.workDir) this.undo('work dir', () => rm(this.workDir, { recursive: true, force: true }));
    await mkdir(this.workDir, { recursive: true });

    // Control plane.
    const pki = await createPki(join(this.workDir, 'pki'));
    const types = resourcesFor(p);
    const admission = createAdmission(p);
    this.store = new Store({ types, admission, persistDir: o.persistDir });
    this.events = new EventRecorder(this.store);
    const ctx: ControllerContext = { store: this.store, profile: p, events: this.events, log: (m, f) => this.log(m, { component: 'controller-manager', ...f }) };
    bootstrapCluster(this.store, p, pki.caPem);
    const controllers = startControllers(ctx, admission);
    this.undo('controllers', async () => controllers.stop());
    this.server = await new ApiServer({ store: this.store, profile: p, types, pki, parts: this.parts(), port: o.port, onRequest: (e) => this.requestLog.push(e) }).start();
    this.undo('api server', () => this.server.stop());
    this.kubeconfigPath = join(this.workDir, 'kubeconfig');
    const kc = kubeconfigYaml(this.id, this.server.url, pki);
    await writeFile(this.kubeconfigPath, kc, { mode: 0o600 });
    if (o.kubeconfigPath) {
      await mkdir(dirname(resolve(o.kubeconfigPath)), { recursive: true });
      await writeFile(o.kubeconfigPath, kc, { mode: 0o600 });
      this.undo('kubeconfig copy', () => rm(o.kubeconfigPath!, { force: true }));
    }
    this.log('api server ready', { url: this.server.url });

    // Backend.
    if (!o.backend || o.backend === 'mock') {
      this.mock = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'process', stateDir: join(this.workDir, 'datera') }).start();
      this.undo('mock datera', () => this.mock!.stop());
      this.backend = { kind: 'mock', server: this.mock.server, url: this.mock.url, user: this.mock.credentials.user, password: this.mock.credentials.password, portals: this.mock.portals };
    } else this.backend = { kind: 'datera', ...o.backend };

    // Nodes.
    const names = Array.from({ length: o.nodes ?? 2 }, (_, i) => (i === 0 ? 'embedded-worker' : `embedded-worker${i + 1}`));
    this.network = await ClusterNetwork.create(this.id, names);
    this.undo('network', () => this.network.destroy());
    const attachments = new AttachRegistry();
    const root = packageRoot();
    const driver = o.driver ?? join(root, 'drivers/flexvolume/datera~iscsi/iscsi');
    for (const name of names) {
      const nodeRoot = join(this.workDir, 'nodes', name);
      const kubeletRoot = join(nodeRoot, 'var/lib/kubelet');
      const pluginDir = join(nodeRoot, 'usr/libexec/kubernetes/kubelet-plugins/volume/exec');
      await mkdir(join(nodeRoot, 'iscsi/etc/iscsi'), { recursive: true });
      await writeFile(join(nodeRoot, 'iscsi/etc/iscsi/initiatorname.iscsi'), `InitiatorName=iqn.1993-08.org.debian:01:${this.id}-${name}\n`);
      await mkdir(join(pluginDir, 'datera~iscsi'), { recursive: true });
      // A symlink, as the driver's README allows: wrapper scripts (the broken variants too) find their code from
      // their own resolved path, which a copy would lose.
      await symlink(resolve(driver), join(pluginDir, 'datera~iscsi/iscsi'));
      const env: NodeJS.ProcessEnv = {
        PATH: `${join(root, 'drivers/iscsiadm/bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        DKC_ISCSI_ROOT: join(nodeRoot, 'iscsi'),
        DKC_KUBELET_ROOT: kubeletRoot,
        DATERA_FLEX_STATE_DIR: join(nodeRoot, 'datera-flex'),
        DATERA_FLEX_LOG: join(nodeRoot, 'datera-flex.log'),
        DATERA_FLEX_DEVICE_TIMEOUT: '60',
        DKC_DRIVER_JS: join(root, 'dist/drivers/flexvolume/main.js'),
        NODE_NAME: name,
        HOME: '/root',
      };
      const runtime = new ContainerRuntime({ nodeName: name, rootDir: join(nodeRoot, 'runtime'), logDir: join(nodeRoot, 'var/log/pods') });
      const flex = new FlexVolumes({ nodeName: name, kubeletRoot, pluginDir, profile: p.wire, env, onCall: (call) => this.flexCalls.push(call) });
      const kubelet = new Kubelet({ name, store: this.store, profile: p, events: this.events, network: this.network, runtime, flex, kubeletRoot, attachments, log: (m, f) => this.log(m, { component: 'kubelet', node: name, ...f }) });
      await kubelet.start();
      this.nodeHandles.push({ name, root: nodeRoot, env, kubelet, runtime });
      this.undo(`kubelet ${name}`, async () => {
        const left = await kubelet.shutdown();
        if (left.length) throw new Error(left.join('; '));
        await this.sweepNode(nodeRoot, env);
      });
    }

    if (o.provisioner !== false && this.backend) await this.startProvisioner();
  }

  private async startProvisioner(): Promise<void> {
    const b = this.backend!;
    // The provisioner's credentials live in a Secret of type datera/iscsi, as the Datera guide deploys them.
    this.store.create('core/namespaces', { metadata: { name: 'datera' } });
    this.store.create(
      'core/secrets',
      { metadata: { name: 'datera-secret', namespace: 'datera' }, type: 'datera/iscsi', data: { username: b64(b.user), password: b64(b.password), server: b64(b.server) } },
      { namespace: 'datera' },
    );
    const main = join(packageRoot(), 'dist/drivers/provisioner/main.js');
    const proc = spawn(process.execPath, [main, '--resync', '10', '--backoff', '1'], { env: { ...process.env, KUBECONFIG: this.kubeconfigPath, NODE_EXTRA_CA_CERTS: '' }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    proc.stderr!.on('data', (d: Buffer) => {
      this.provisionerLog += d.toString();
      if (this.provisionerLog.length > 2_000_000) this.provisionerLog = this.provisionerLog.slice(-1_000_000);
    });
    this.provisionerProc = proc;
    this.undo('provisioner', async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    });
  }

  /**
   * Anything left under a node root after its kubelet stopped, which a driver that leaks (never logs out, never
   * unmounts) leaves behind: filesystem mounts (deepest first), iSCSI sessions (the node's own iscsiadm logs out
   * of everything; userspace initiator processes that survive are killed), loop devices over its LUN exports, and
   * the FUSE exports themselves. The scenarios' hygiene checks have reported the leak by then; the cluster must
   * still leave nothing on the host.
   */
  private async sweepNode(nodeRoot: string, env: NodeJS.ProcessEnv): Promise<void> {
    // Loops first, while the FUSE exports they sit on are still mounted (afterwards nothing names them); a loop
    // whose filesystem is still mounted is only marked to go once that is unmounted below.
    await detachLoopsUnder(nodeRoot);
    const umountUnder = async (pred: (m: { target: string; fstype: string }) => boolean) => {
      const mounts = (await readMounts()).filter((m) => under(m.target, nodeRoot) && pred(m)).reverse();
      for (const m of mounts) await run(['umount', '-l', m.target], { nothrow: true });
    };
    await umountUnder((m) => !m.fstype.startsWith('fuse'));
    await run(['iscsiadm', '-m', 'node', '--logoutall=all'], { env, nothrow: true, timeoutMs: 30_000 });
    await detachLoopsUnder(nodeRoot);
    for (const pid of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(pid)) continue;
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmd.startsWith('qemu-storage-daemon') && cmd.includes(nodeRoot)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await umountUnder(() => true);
  }

  private parts(): ServerParts {
    const p = this.o.profile;
    return {
      version: () => versionInfo(p),
      discovery: (path, accept) => {
        if (path === '/api') return rootDiscovery(p, true, accept);
        if (path === '/apis') return rootDiscovery(p, false, accept);
        const parts = path.split('/').filter(Boolean);
        if (parts[0] === 'api') {
          const body = apiResourceList(p, '', parts[1]!);
          return body ? { contentType: 'application/json', body } : undefined;
        }
        const body = parts.length === 2 ? apiGroup(p, parts[1]!) : apiResourceList(p, parts[1]!, parts[2]!);
        return body ? { contentType: 'application/json', body } : undefined;
      },
      openapi: (path, accept) => (path === '/openapi/v2' ? openapiV2(p, accept) : path.startsWith('/openapi/v3') ? openapiV3(p, path) : undefined),
      table: (kind, objects, opts) => toTable(kind, objects, { includeObject: opts.includeObject as 'None' | 'Object' | 'Metadata', minor: p.minor }),
      checkFields: (kind, apiVersion, obj) => checkFields(kind, apiVersion, obj),
      patch: (kind, original, body, contentType) => applyPatch(kind, original, body, contentType),
      execUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer, exec) => {
        handleStreamUpgrade(req, socket, head, (streams) => this.exec(exec.pod, exec.container, exec.action, streams));
      },
      logs: async (req, out, signal) => {
        const pod = req.pod as KObject & { spec: { nodeName?: string } };
        const node = this.nodeHandles.find((n) => n.name === pod.spec.nodeName);
        if (!node) throw new HarnessError('BAD_INPUT', `pod ${pod.metadata.name} is not running on a node`);
        const ref = { namespace: pod.metadata.namespace!, podName: pod.metadata.name!, podUid: pod.metadata.uid! };
        const opts = { previous: req.previous, timestamps: req.timestamps, ...(req.tailLines !== undefined ? { tailLines: req.tailLines } : {}), ...(req.sinceSeconds !== undefined ? { sinceSeconds: req.sinceSeconds } : {}) };
        const handle = node.kubelet.container(ref.podUid, req.container);
        if (req.follow && handle?.running && !req.previous) {
          for await (const line of handle.followLogs(opts)) {
            if (signal.aborted) break;
            out.write(line);
          }
          return;
        }
        out.write(await readContainerLogs(node.runtime.opts.logDir, ref, req.container, opts).catch(() => ''));
      },
    };
  }

  private async exec(pod: KObject, container: string, action: 'exec' | 'attach', s: ExecStreams): Promise<{ exitCode: number } | { error: string }> {
    const node = this.nodeHandles.find((n) => n.name === (pod.spec as { nodeName?: string }).nodeName);
    const handle = node?.kubelet.container(pod.metadata.uid!, container);
    if (!handle?.running) return { error: `container ${container} is not running` };
    if (action === 'attach') return { error: 'attach is not supported by the embedded runtime; use exec' };
    const child = handle.exec(s.options.command, { stdin: !!s.stdin, tty: s.tty });
    if (s.stdin && child.stdin) s.stdin.pipe(child.stdin).on('error', () => undefined);
    if (s.stdout) child.stdout!.pipe(s.stdout, { end: false });
    else child.stdout!.resume();
    if (s.stderr) child.stderr!.pipe(s.stderr, { end: false });
    else child.stderr!.resume();
    const onAbort = () => {
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    };
    s.signal.addEventListener('abort', onAbort);
    return new Promise((resolvePromise) => {
      child.on('error', (e) => resolvePromise({ error: e.message }));
      child.on('close', (code, sig) => {
        s.signal.removeEventListener('abort', onAbort);
        resolvePromise({ exitCode: code ?? (sig ? 128 + (sig === 'SIGKILL' ? 9 : 15) : 1) });
      });
    });
  }

  nodes(): ClusterNodeInfo[] {
    return this.nodeHandles.map((n) => ({ name: n.name, address: this.network.node(n.name).address, root: n.root }));
  }

  nodeAccess(): NodeAccess[] {
    return this.nodeHandles.map((n) => ({
      name: n.name,
      address: this.network.node(n.name).address,
      exec: ['nsenter', `--net=/run/netns/${this.network.node(n.name).netns}`, '--'],
      env: Object.fromEntries(Object.entries(n.env).filter((e): e is [string, string] => typeof e[1] === 'string')),
      kubeletRoot: String(n.env.DKC_KUBELET_ROOT),
      pluginDir: join(n.root, 'usr/libexec/kubernetes/kubelet-plugins/volume/exec'),
      iscsiRoot: String(n.env.DKC_ISCSI_ROOT),
    }));
  }

  async nodeExec(node: string, argv: string[]): Promise<NodeCommandResult> {
    const n = this.nodeHandles.find((x) => x.name === node);
    if (!n) throw new HarnessError('BAD_INPUT', `no node ${node}; nodes: ${this.nodeHandles.map((x) => x.name).join(', ')}`);
    const r = await run(['nsenter', `--net=/run/netns/${this.network.node(node).netns}`, '--', ...argv], { env: n.env, nothrow: true, timeoutMs: 120_000 });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  async collectArtifacts(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'api-requests.jsonl'), this.requestLog.map((e) => JSON.stringify(e)).join('\n') + '\n');
    await writeFile(join(dir, 'flexvolume-calls.jsonl'), this.flexCalls.map((c) => JSON.stringify({ node: c.node, argv: c.argv.map((a) => (a.startsWith('{') ? '<json>' : a)), kind: c.outcome.kind, error: c.outcome.error, ms: Math.round(c.ms) })).join('\n') + '\n');
    await writeFile(join(dir, 'events.json'), JSON.stringify(this.store.list('core/events').items, null, 1));
    await writeFile(join(dir, 'provisioner.log'), this.provisionerLog);
    for (const n of this.nodeHandles) await copyFile(String(n.env.DATERA_FLEX_LOG), join(dir, `driver-${n.name}.log`)).catch(() => undefined);
    if (this.mock) await writeFile(join(dir, 'datera-requests.json'), JSON.stringify(this.mock.requests(), null, 1));
  }

  async stop(): Promise<string[]> {
    live.delete(this);
    this.stopping ??= (async () => {
      const left = await this.ledger.unwind();
      this.store?.flush();
      return left;
    })();
    return this.stopping;
  }
}

const live = new Set<EmbeddedCluster>();
let signalsHooked = false;

/**
 * For programs that have no shutdown handling of their own (tests, the bench): on SIGINT, SIGTERM, SIGHUP or
 * SIGALRM (tap's timeout, followed by SIGKILL about 10 s later) stop every cluster this process started, so that a
 * test killed for taking too long still leaves nothing behind. SIGALRM leaves the exit to tap; the others exit.
 */
export function stopClustersOnSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  let stopping: Promise<unknown> | undefined;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGALRM'] as const) {
    process.on(sig, () => {
      stopping ??= Promise.all([...live].map((c) => c.stop())).then((lefts) => {
        const left = lefts.flat();
        if (left.length) console.error(`${sig}: cluster cleanup left: ${left.join('; ')}`);
      });
      if (sig !== 'SIGALRM') void stopping.finally(() => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)));
    });
  }
}

export const newClusterId = () => `e${randomBytes(4).toString('hex')}`;

const b64 = (s: string) => Buffer.from(s).toString('base64');
