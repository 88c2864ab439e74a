/**
 * Cluster network made only of network namespaces (nothing is added to the host's root namespace, so several
 * clusters can run side by side):
 *
 *   router netns dkc-<clusterId>-rt: bridge br0 10.242.0.1/24; one veth per node (n<i> here, eth0 in the node)
 *   node netns   dkc-<clusterId>-<node>: eth0 10.242.0.<10+i>/24, default via 10.242.0.1, bridge cni0
 *                10.244.<i+1>.1/24 for its pods; the router routes 10.244.<i+1>.0/24 via the node
 *   pod netns    dkc-<clusterId>-pod-<hash>: eth0 (veth, peer vp<hash> on the node's cni0), lo up, address from
 *                the node's pod CIDR, default via the bridge address
 *
 * Plain routing everywhere, no NAT: pod source addresses are preserved (the Kubernetes network model).
 *
 *   ClusterNetwork.create(clusterId, nodeNames): Promise<ClusterNetwork>   clusterId: [a-z0-9]{1,20}
 *   net.node(name): NodeNet                  { name, address, podCidr, gateway, netns }
 *   net.addPod(nodeName, podKey): Promise<PodNet>   { netns, ip, gateway, nodeName }  (idempotent per podKey)
 *   net.removePod(podKey): Promise<void>
 *   net.destroy(): Promise<void>             removes every namespace and veth it made, killing leftover processes
 *   sweepNetworks(clusterId?): Promise<string[]>   removes dkc-<clusterId>-* (or every dkc-*) namespaces
 */
import { createHash } from 'node:crypto';
import { HarnessError } from '../../../../lib/errors.js';
import { run } from '../../../../lib/exec.js';
import { Ipv4Pool } from './ip-pool.js';

export interface NodeNet {
  name: string;
  index: number;
  address: string;
  podCidr: string;
  /** The node bridge's address: pods' default gateway. */
  gateway: string;
  netns: string;
}

export interface PodNet {
  podKey: string;
  nodeName: string;
  netns: string;
  ip: string;
  gateway: string;
  /** Node-side veth name. */
  hostVeth: string;
}

export const UNDERLAY_PREFIX = '10.242.0';
export const ROUTER_ADDRESS = `${UNDERLAY_PREFIX}.1`;

export function routerNetns(clusterId: string): string {
  return `dkc-${clusterId}-rt`;
}

export function nodeNetns(clusterId: string, nodeName: string): string {
  return `dkc-${clusterId}-${nodeName}`;
}

export function podShort(podKey: string): string {
  return createHash('sha256').update(podKey).digest('hex').slice(0, 10);
}

export function podNetns(clusterId: string, podKey: string): string {
  return `dkc-${clusterId}-pod-${podShort(podKey)}`;
}

/** Node-side veth of a pod: 'vp' + 10 hex = 12 chars (interface names must fit 15). */
export function podVeth(podKey: string): string {
  return `vp${podShort(podKey)}`;
}

export function checkClusterId(clusterId: string): void {
  // No '-': sweep matches by the `dkc-<id>-` prefix and must not catch another cluster's names.
  if (!/^[a-z0-9]{1,20}$/.test(clusterId)) throw new HarnessError('BAD_INPUT', `cluster id "${clusterId}" must be 1-20 characters [a-z0-9]`);
}

function checkNodeName(name: string): void {
  if (!/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(name) || name === 'rt' || name.startsWith('pod-')) {
    throw new HarnessError('BAD_INPUT', `node name "${name}" must be a DNS label of at most 40 characters (not "rt" or "pod-*")`);
  }
}

const ip = (...args: string[]) => run(['ip', ...args], { timeoutMs: 15_000 });
const nsSysctl = (ns: string, kv: string) => run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', kv], { timeoutMs: 15_000 });

async function listNetns(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { nothrow: true });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

/** Kills whatever still runs in `ns`, then deletes it (its interfaces and their veth peers go with it). */
async function deleteNetns(ns: string): Promise<void> {
  const pids = await run(['ip', 'netns', 'pids', ns], { nothrow: true });
  for (const pid of pids.stdout.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await run(['ip', 'netns', 'del', ns], { nothrow: true });
}

export async function sweepNetworks(clusterId?: string): Promise<string[]> {
  if (clusterId !== undefined) checkClusterId(clusterId);
  const prefix = clusterId !== undefined ? `dkc-${clusterId}-` : 'dkc-';
  const gone = (await listNetns()).filter((n) => n.startsWith(prefix));
  // Pods first, routers last: nothing depends on the order, but it keeps the logs readable.
  for (const ns of gone) await deleteNetns(ns);
  return gone;
}

export class ClusterNetwork {
  private readonly nodes = new Map<string, NodeNet>();
  private readonly pools = new Map<string, Ipv4Pool>();
  private readonly pods = new Map<string, PodNet>();
  /** Every namespace created, in creation order (destroy() walks it backwards). */
  private readonly created: string[] = [];

  private constructor(readonly clusterId: string) {}

  static async create(clusterId: string, nodeNames: string[]): Promise<ClusterNetwork> {
    checkClusterId(clusterId);
    if (nodeNames.length === 0 || nodeNames.length > 200) throw new HarnessError('BAD_INPUT', 'a cluster network needs 1-200 nodes');
    nodeNames.forEach(checkNodeName);
    if (new Set(nodeNames).size !== nodeNames.length) throw new HarnessError('BAD_INPUT', `duplicate node names: ${nodeNames.join(', ')}`);
    const net = new ClusterNetwork(clusterId);
    try {
      await net.build(nodeNames);
    } catch (e) {
      await net.destroy();
      throw e;
    }
    return net;
  }

  private async addNetns(ns: string): Promise<void> {
    if ((await listNetns()).includes(ns)) throw new HarnessError('BAD_CONFIG', `network namespace ${ns} already exists (run sweep for cluster ${this.clusterId})`);
    await ip('netns', 'add', ns);
    this.created.push(ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await nsSysctl(ns, 'net.ipv4.ip_forward=1');
    await nsSysctl(ns, 'net.ipv4.conf.all.rp_filter=0');
    await nsSysctl(ns, 'net.ipv4.conf.default.rp_filter=0');
  }

  private async build(nodeNames: string[]): Promise<void> {
    const rt = routerNetns(this.clusterId);
    await this.addNetns(rt);
    await ip('-n', rt, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', rt, 'addr', 'add', `${ROUTER_ADDRESS}/24`, 'dev', 'br0');
    await ip('-n', rt, 'link', 'set', 'br0', 'up');
    for (const [i, name] of nodeNames.entries()) {
      const ns = nodeNetns(this.clusterId, name);
      const node: NodeNet = {
        name,
        index: i,
        address: `${UNDERLAY_PREFIX}.${10 + i}`,
        podCidr: `10.244.${i + 1}.0/24`,
        gateway: `10.244.${i + 1}.1`,
        netns: ns,
      };
      await this.addNetns(ns);
      // Created inside the router namespace with the peer straight in the node's: nothing touches the root ns.
      await ip('-n', rt, 'link', 'add', `n${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', rt, 'link', 'set', `n${i}`, 'master', 'br0');
      await ip('-n', rt, 'link', 'set', `n${i}`, 'up');
      await ip('-n', ns, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', ns, 'route', 'add', 'default', 'via', ROUTER_ADDRESS);
      await ip('-n', ns, 'link', 'add', 'cni0', 'type', 'bridge');
      await ip('-n', ns, 'addr', 'add', `${node.gateway}/24`, 'dev', 'cni0');
      await ip('-n', ns, 'link', 'set', 'cni0', 'up');
      await ip('-n', rt, 'route', 'add', node.podCidr, 'via', node.address);
      this.nodes.set(name, node);
      this.pools.set(name, new Ipv4Pool(node.podCidr, [node.gateway]));
    }
  }

  get nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  node(name: string): NodeNet {
    const n = this.nodes.get(name);
    if (!n) throw new HarnessError('BAD_INPUT', `no node "${name}" in cluster network ${this.clusterId}`);
    return n;
  }

  pod(podKey: string): PodNet | undefined {
    return this.pods.get(podKey);
  }

  async addPod(nodeName: string, podKey: string): Promise<PodNet> {
    const node = this.node(nodeName);
    const have = this.pods.get(podKey);
    if (have) {
      if (have.nodeName !== nodeName) throw new HarnessError('BAD_INPUT', `pod ${podKey} is already on node ${have.nodeName}`);
      return have;
    }
    const pool = this.pools.get(nodeName)!;
    const addr = pool.allocate(podKey);
    const ns = podNetns(this.clusterId, podKey);
    const veth = podVeth(podKey);
    const pod: PodNet = { podKey, nodeName, netns: ns, ip: addr, gateway: node.gateway, hostVeth: veth };
    try {
      await ip('netns', 'add', ns);
      this.created.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', node.netns, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', node.netns, 'link', 'set', veth, 'master', 'cni0');
      await ip('-n', node.netns, 'link', 'set', veth, 'up');
      await ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', ns, 'route', 'add', 'default', 'via', node.gateway);
    } catch (e) {
      await this.teardownPod(pod);
      pool.release(podKey);
      throw e;
    }
    this.pods.set(podKey, pod);
    return pod;
  }

  private async teardownPod(pod: PodNet): Promise<void> {
    const node = this.nodes.get(pod.nodeName);
    if (node) await run(['ip', '-n', node.netns, 'link', 'del', pod.hostVeth], { nothrow: true });
    await deleteNetns(pod.netns);
    const i = this.created.indexOf(pod.netns);
    if (i >= 0) this.created.splice(i, 1);
  }

  async removePod(podKey: string): Promise<void> {
    const pod = this.pods.get(podKey);
    if (!pod) return;
    await this.teardownPod(pod);
    this.pools.get(pod.nodeName)?.release(podKey);
    this.pods.delete(podKey);
  }

  async destroy(): Promise<void> {
    for (const pod of [...this.pods.values()]) await this.removePod(pod.podKey);
    for (const ns of [...this.created].reverse()) await deleteNetns(ns);
    this.created.length = 0;
    this.nodes.clear();
    this.pools.clear();
  }
}
