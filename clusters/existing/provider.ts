/**
 * The existing provider: a cluster someone else made, reached through its kubeconfig. It makes nothing, so stop()
 * removes nothing; it reads the server's version and the nodes from the API. It has no node access (no debug pods
 * yet): nodeAccess() is empty, and scenarios skip their node checks saying so. The backend is known only when the
 * run was given one (a real Datera system's URL and credentials).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, VersionApi, type V1Node } from '@kubernetes/client-node';
import { HarnessError, errorMessage } from '../../lib/errors.js';
import type { BackendInfo, ClusterNodeInfo, ClusterProvider, NodeAccess, NodeCommandResult, StartedCluster } from '../provider.js';

export interface ExistingClusterOptions {
  kubeconfig: string;
  backend?: BackendInfo;
}

export class ExistingCluster implements StartedCluster {
  readonly provider = 'existing' as const;

  private constructor(
    readonly kubeconfigPath: string,
    /** The server's gitVersion, e.g. `v1.33.4`. */
    readonly version: string,
    /** The Kubernetes minor, from /version (`33`, also for `33+` as some distributions write it). */
    readonly minor: number,
    readonly backend: BackendInfo | undefined,
    private readonly nodeList: ClusterNodeInfo[],
    private readonly kubeletVersions: Record<string, string>,
  ) {}

  /** Read /version and the nodes; fails with what the API server said when it cannot be reached. */
  static async start(o: ExistingClusterOptions): Promise<ExistingCluster> {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(o.kubeconfig);
    } catch (err) {
      throw new HarnessError('BAD_CONFIG', `cannot load the kubeconfig ${o.kubeconfig}: ${errorMessage(err)}`, { cause: err });
    }
    const server = kc.getCurrentCluster()?.server ?? '(no current cluster)';
    let version: { gitVersion: string; major: string; minor: string };
    let nodes: V1Node[];
    try {
      version = await kc.makeApiClient(VersionApi).getCode();
      nodes = (await kc.makeApiClient(CoreV1Api).listNode()).items;
    } catch (err) {
      throw new HarnessError('COMMAND_FAILED', `the existing cluster at ${server} (kubeconfig ${o.kubeconfig}) did not answer: ${errorMessage(err)}`, { cause: err });
    }
    const minor = minorOf(version);
    if (minor === undefined) throw new HarnessError('COMMAND_FAILED', `the existing cluster at ${server} reports version ${JSON.stringify(version)}, which names no Kubernetes 1.x minor`);
    const infos = nodes.map((n) => ({
      name: n.metadata?.name ?? '',
      address: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? n.status?.addresses?.[0]?.address ?? '',
      root: '/',
    }));
    const kubelets = Object.fromEntries(nodes.map((n) => [n.metadata?.name ?? '', n.status?.nodeInfo?.kubeletVersion ?? '']));
    return new ExistingCluster(o.kubeconfig, version.gitVersion, minor, o.backend, infos, kubelets);
  }

  nodes(): ClusterNodeInfo[] {
    return this.nodeList.map((n) => ({ ...n }));
  }

  nodeAccess(): NodeAccess[] {
    return [];
  }

  async nodeExec(node: string): Promise<NodeCommandResult> {
    throw new HarnessError('BAD_INPUT', `no node access on an existing cluster (node ${node}); node checks are skipped there`);
  }

  async collectArtifacts(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'cluster.json'), JSON.stringify({ version: this.version, minor: this.minor, nodes: this.nodeList.map((n) => ({ ...n, kubeletVersion: this.kubeletVersions[n.name] })) }, null, 2) + '\n');
  }

  /** Nothing to remove: the cluster was here before the run and stays. */
  async stop(): Promise<string[]> {
    return [];
  }
}

/** `{major: '1', minor: '33+'}` or, failing that, the gitVersion `v1.33.4` -> 33. */
export function minorOf(v: { gitVersion?: string; major?: string; minor?: string }): number | undefined {
  const fromFields = v.major === '1' ? /^(\d+)/.exec(v.minor ?? '')?.[1] : undefined;
  const fromGit = /^v?1\.(\d+)(?:\.|$)/.exec(v.gitVersion ?? '')?.[1];
  const m = fromFields ?? fromGit;
  return m === undefined ? undefined : Number(m);
}

export const existingProvider: ClusterProvider<ExistingClusterOptions> = {
  name: 'existing',
  start: (o) => ExistingCluster.start(o),
};
