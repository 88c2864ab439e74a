/**
 * The kind provider: a real Kubernetes cluster of one version in Docker (one control plane, two workers), Calico as
 * the CNI, the Datera driver and provisioner installed as Datera's guide installs them, and a Datera backend the
 * nodes reach. Creation is the ordered list of actions in actions/ (one file each); every action that makes
 * something outside the cluster pushes its undo onto a ledger, and stop() (or a failed or aborted start) runs the
 * ledger backwards. Everything is labelled or named (`dkc-<id>`, `dkc.cluster=<id>`) so sweep.ts can remove what a
 * killed run left.
 *
 * Only creation differs from the other providers: suites get the kubeconfig, the backend and `docker exec` access
 * to the node containers (nodeAccess()).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from '../../lib/errors.js';
import { UndoLedger } from '../../lib/ledger.js';
import type { BackendInfo, ClusterNodeInfo, NodeAccess, NodeCommandResult, StartedCluster } from '../provider.js';
import { ACTIONS } from './actions/index.js';
import type { KindAction, KindClusterOptions, KindContext, KindNodeState, KindTimeouts } from './actions/context.js';
import { PLUGIN_DIR } from './cluster-config.js';
import type { KindTools } from './tools.js';
import { parseK8sVersion } from './versions.js';

export type { KindClusterOptions, KindMock, KindMockOptions, DriverChoice, KindTimeouts } from './actions/context.js';

export const KIND_NAME_PREFIX = 'dkc-';
export const RECORD_FILE = 'kind-cluster.json';
export const RECORD_SCHEMA = 'dkc.kind-cluster/v1';
const ID_RE = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

const DEFAULT_TIMEOUTS: KindTimeouts = { createMs: 900_000, readyMs: 600_000, rolloutMs: 300_000, imagesMs: 900_000 };

export class StartedKindCluster implements StartedCluster {
  readonly provider = 'kind' as const;
  private readonly ledger = new UndoLedger();
  private stopping: Promise<string[]> | undefined;
  readonly warnings: string[] = [];
  readonly ctx: KindContext;

  constructor(readonly o: KindClusterOptions) {
    const workDir = o.workDir;
    const pending = new Error('tools are not resolved yet');
    let tools: KindTools | undefined;
    this.ctx = {
      o,
      v: o.kind,
      env: o.env ?? process.env,
      name: `${KIND_NAME_PREFIX}${o.id}`,
      workDir,
      kubeconfigPath: join(workDir, 'kubeconfig'),
      configPath: join(workDir, 'kind-config.yaml'),
      calicoPath: join(workDir, 'calico.yaml'),
      recordPath: join(workDir, RECORD_FILE),
      commandLog: join(workDir, 'commands.jsonl'),
      timeouts: { ...DEFAULT_TIMEOUTS, ...o.timeouts },
      get tools(): KindTools {
        if (!tools) throw pending;
        return tools;
      },
      set tools(t: KindTools) {
        tools = t;
      },
      kindRelease: '',
      calicoImages: [],
      images: { driver: '', workloads: [] },
      builtImages: [],
      nodes: [],
      serverVersion: '',
      tgtNetworks: [],
      undo: (what, fn) => this.ledger.push(what, fn),
      log: (msg, fields) => o.log(msg, { cluster: `${KIND_NAME_PREFIX}${o.id}`, ...fields }),
      warn: (msg) => {
        this.warnings.push(msg);
        o.log(msg, { cluster: `${KIND_NAME_PREFIX}${o.id}`, level: 'warn' });
      },
      checkAbort: () => o.signal?.throwIfAborted(),
      record: async (extra) => {
        const path = join(workDir, RECORD_FILE);
        const old = JSON.parse(await readFile(path, 'utf8').catch(() => '{}')) as Record<string, unknown>;
        await writeFile(path, JSON.stringify({ ...old, schema: RECORD_SCHEMA, id: o.id, name: `${KIND_NAME_PREFIX}${o.id}`, workDir, ...extra }, null, 2) + '\n');
      },
    };
  }

  get version(): string {
    return this.ctx.serverVersion;
  }

  get kubeconfigPath(): string {
    return this.ctx.kubeconfigPath;
  }

  get backend(): BackendInfo | undefined {
    return this.ctx.backend;
  }

  /** Run the actions in order; on failure or abort undo what was made and rethrow. */
  async up(actions: readonly KindAction[] = ACTIONS): Promise<void> {
    await mkdir(this.ctx.workDir, { recursive: true });
    try {
      for (const a of actions) {
        this.ctx.checkAbort();
        this.ctx.log(`kind: ${a.name}`, { action: a.name });
        await a.run(this.ctx);
      }
      this.ctx.checkAbort();
    } catch (err) {
      const left = await this.stop();
      if (err instanceof Error && left.length) err.message += ` (cleanup after the failed start left: ${left.join('; ')})`;
      throw err;
    }
  }

  nodes(): ClusterNodeInfo[] {
    return this.ctx.nodes.map((n: KindNodeState) => ({ name: n.name, address: n.address, root: '/' }));
  }

  /** `docker exec <node container>`: the node's own filesystem, network and iscsiadm, as the kubelet has them. */
  nodeAccess(): NodeAccess[] {
    return this.ctx.nodes.map((n) => ({ name: n.name, address: n.address, exec: [this.ctx.tools.dockerPath, 'exec', n.name], kubeletRoot: '/var/lib/kubelet', pluginDir: PLUGIN_DIR, iscsiRoot: '' }));
  }

  async nodeExec(node: string, argv: string[]): Promise<NodeCommandResult> {
    if (!this.ctx.nodes.some((n) => n.name === node)) throw new HarnessError('BAD_INPUT', `no node ${node}; nodes: ${this.ctx.nodes.map((n) => n.name).join(', ')}`);
    const r = await this.ctx.tools.docker(['exec', node, ...argv], { nothrow: true, timeoutMs: 120_000 });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  /** kind's own log export (kubelet journals with the FlexVolume call-outs, containerd, pods), the commands run, the mock's requests. */
  async collectArtifacts(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const r = await this.ctx.tools.kind(['export', 'logs', join(dir, 'kind-logs'), '--name', this.ctx.name], { nothrow: true, timeoutMs: 300_000 });
    if (r.exitCode !== 0) await writeFile(join(dir, 'kind-export-logs.err'), r.stderr);
    for (const [from, to] of [
      [this.ctx.commandLog, 'commands.jsonl'],
      [this.ctx.configPath, 'kind-config.yaml'],
    ] as const)
      await copyFile(from, join(dir, to)).catch(() => undefined);
    const pods = await this.ctx.tools.kubectl(['get', 'pods', '--all-namespaces', '--output', 'wide'], { nothrow: true });
    await writeFile(join(dir, 'pods.txt'), pods.stdout + pods.stderr);
    if (this.ctx.mock?.requests) await writeFile(join(dir, 'datera-requests.json'), JSON.stringify(this.ctx.mock.requests(), null, 1));
    if (this.warnings.length) await writeFile(join(dir, 'warnings.txt'), this.warnings.join('\n') + '\n');
  }

  /** Undo everything, newest first; keeps going past failures and returns them. The record goes last, only when nothing was left. */
  stop(): Promise<string[]> {
    this.stopping ??= (async () => {
      const left = await this.ledger.unwind();
      if (!left.length) await rm(this.ctx.recordPath, { force: true });
      this.ctx.log(left.length ? 'kind cluster stopped, with leftovers' : 'kind cluster stopped', left.length ? { left } : undefined);
      return left;
    })();
    return this.stopping;
  }
}

function check(o: KindClusterOptions): void {
  if (!ID_RE.test(o.id)) throw new HarnessError('BAD_INPUT', `cluster id '${o.id}' must be 1-32 lower-case letters, digits and dashes (it names the kind cluster ${KIND_NAME_PREFIX}<id> and its containers)`);
  const v = parseK8sVersion(o.version);
  if (!v || v.minor !== o.kind.minor) throw new HarnessError('BAD_INPUT', `version '${o.version}' does not match the kind row for ${o.kind.version}`);
  if (v.release && v.release !== o.kind.release) throw new HarnessError('BAD_INPUT', `version '${o.version}' asks for ${v.release} but the kind row pins ${o.kind.release}`);
  if (!o.workDir) throw new HarnessError('BAD_INPUT', 'workDir is required');
}

/** Bring a kind cluster up; on any failure, Ctrl-C (signal) included, nothing it made is left behind. */
export async function startKindCluster(o: KindClusterOptions): Promise<StartedCluster & StartedKindCluster> {
  check(o);
  const c = new StartedKindCluster(o);
  await c.up();
  return c;
}

/** `k` and 8 hex digits: a valid id (the kind cluster is then dkc-k1a2b3c4d). */
export const newKindClusterId = () => `k${randomBytes(4).toString('hex')}`;
