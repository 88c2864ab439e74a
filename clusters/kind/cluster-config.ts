/**
 * The kind cluster config (kind.x-k8s.io/v1alpha4) for one Kubernetes version: one control plane and two workers,
 * no default CNI (Calico is installed instead) with the pod subnet Calico's default pool uses, host /dev in every node
 * (iSCSI devices appear on the host's devtmpfs after a login; a privileged container's own /dev is a snapshot, kind
 * #3389), and the kubelet flags Datera's guide requires on every node: `--enable-controller-attach-detach=false` and
 * the FlexVolume plugin dir. /lib/modules is not an extraMount: kind already runs every node with
 * `--volume /lib/modules:/lib/modules:ro` (pkg/cluster/internal/providers/docker/provision.go, runArgsForNode), and a
 * second bind on the same container path makes `docker run` fail with "Duplicate mount point: /lib/modules"
 * (moby daemon/volumes.go registerMountPoints), so `kind create cluster` would fail on every version.
 *
 * The kubelet flags go through kubeadm's nodeRegistration.kubeletExtraArgs of the InitConfiguration (control plane)
 * and the JoinConfiguration (workers), in the shape the version's kubeadm API takes (versions.ts kubeadmApi):
 * - v1beta2 / v1beta3: a map, merged into kind's own args by a strategic-merge patch (kubeadmConfigPatches);
 * - v1beta4 (Kubernetes >= 1.36, kind >= 0.32): a list of {name, value}, each flag appended with a JSON 6902
 *   `add .../kubeletExtraArgs/-` to kind's own list (node-ip, provider-id, node-labels). A plain JSON merge patch
 *   would replace that list; kind 0.32 (kubernetes-sigs/kind#4173, pkg/internal/patch/kubeadm_merge.go) merges
 *   kubeletExtraArgs by name in merge patches too, so either works with the kind releases that template v1beta4.
 *   The `-` append needs the list to exist in kind's v1beta4 template (not seen here: unverified).
 * The patches are versioned: kind applies a versioned patch only to a document of that apiVersion, and silently
 * skips it otherwise. The wait-ready action therefore checks the effect on the Node objects.
 */
import { stringify } from 'yaml';
import type { KindVersion } from './versions.js';

/** Calico's default IPv4 pool; kind's own default (10.244.0.0/16) would not match it. */
export const POD_SUBNET = '192.168.0.0/16';
/** The kubelet's default FlexVolume dir, set explicitly so the driver DaemonSet and the kubelet agree. */
export const PLUGIN_DIR = '/usr/libexec/kubernetes/kubelet-plugins/volume/exec';
export const KIND_CONFIG_API = 'kind.x-k8s.io/v1alpha4';

export interface ClusterConfigOptions {
  podSubnet?: string;
  pluginDir?: string;
  workers?: number;
}

export interface KindMount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface KindNode {
  role: 'control-plane' | 'worker';
  extraMounts: KindMount[];
}

export interface Json6902Patch {
  group: string;
  version: string;
  kind: string;
  patch: string;
}

export interface KindClusterConfig {
  kind: 'Cluster';
  apiVersion: typeof KIND_CONFIG_API;
  networking: { disableDefaultCNI: true; podSubnet: string };
  kubeadmConfigPatches?: string[];
  kubeadmConfigPatchesJSON6902?: Json6902Patch[];
  nodes: KindNode[];
}

/** The kubelet flags every node needs, in order. */
export function kubeletFlags(pluginDir: string = PLUGIN_DIR): [string, string][] {
  return [
    ['enable-controller-attach-detach', 'false'],
    ['volume-plugin-dir', pluginDir],
  ];
}

/** Only what kind does not mount itself (it mounts /lib/modules read-only, /var, and tmpfs /tmp and /run). */
const NODE_MOUNTS: KindMount[] = [{ hostPath: '/dev', containerPath: '/dev' }];

export function kindClusterConfig(v: Pick<KindVersion, 'kubeadmApi'>, o: ClusterConfigOptions = {}): KindClusterConfig {
  const flags = kubeletFlags(o.pluginDir);
  const api = `kubeadm.k8s.io/${v.kubeadmApi}`;
  const nodes: KindNode[] = [
    { role: 'control-plane', extraMounts: NODE_MOUNTS.map((m) => ({ ...m })) },
    ...Array.from({ length: o.workers ?? 2 }, (): KindNode => ({ role: 'worker', extraMounts: NODE_MOUNTS.map((m) => ({ ...m })) })),
  ];
  const config: KindClusterConfig = { kind: 'Cluster', apiVersion: KIND_CONFIG_API, networking: { disableDefaultCNI: true, podSubnet: o.podSubnet ?? POD_SUBNET }, nodes };
  const kinds = ['InitConfiguration', 'JoinConfiguration'];
  if (v.kubeadmApi === 'v1beta4') {
    const ops = flags.map(([name, value]) => ({ op: 'add', path: '/nodeRegistration/kubeletExtraArgs/-', value: { name, value } }));
    config.kubeadmConfigPatchesJSON6902 = kinds.map((kind) => ({ group: 'kubeadm.k8s.io', version: v.kubeadmApi, kind, patch: stringify(ops) }));
  } else {
    config.kubeadmConfigPatches = kinds.map((kind) => stringify({ apiVersion: api, kind, nodeRegistration: { kubeletExtraArgs: Object.fromEntries(flags) } }));
  }
  // Keys in the order kind's docs show them; nodes last so the file reads top-down.
  const { nodes: n, ...rest } = config;
  return { ...rest, nodes: n };
}

export function kindClusterConfigYaml(v: Pick<KindVersion, 'kubeadmApi' | 'release' | 'kindRelease'>, o: ClusterConfigOptions = {}): string {
  return `# kind ${v.kindRelease} cluster for Kubernetes ${v.release}, written by dkc (clusters/kind/cluster-config.ts)\n` + stringify(kindClusterConfig(v, o), { lineWidth: 0 });
}
