/**
 * Every node Ready (Calico up), then the checks that the kubelet flags took effect: a kubelet running with
 * enableControllerAttachDetach sets the node annotation volumes.kubernetes.io/controller-managed-attach-detach
 * ("true"); none may have it. A versioned kubeadm patch for the wrong API version is skipped silently by kind, so
 * this is where a wrong kubeadmApi row shows. Also reads the server's version and the node addresses.
 */
import { HarnessError } from '../../../lib/errors.js';
import { waitRounds, type KindAction } from './context.js';

export const CMAD_ANNOTATION = 'volumes.kubernetes.io/controller-managed-attach-detach';

interface NodeList {
  items: { metadata: { name: string; annotations?: Record<string, string> }; status?: { addresses?: { type: string; address: string }[] } }[];
}

export const waitReady: KindAction = {
  name: 'wait ready',
  async run(ctx) {
    await waitRounds(ctx, `all nodes of ${ctx.name} Ready (Calico running)`, ctx.timeouts.readyMs, async (s) => {
      const r = await ctx.tools.kubectl(['wait', '--for=condition=Ready', 'nodes', '--all', `--timeout=${s}s`], { nothrow: true, timeoutMs: (s + 30) * 1000 });
      return { ok: r.exitCode === 0, seen: r.stderr || r.stdout };
    });
    const list = JSON.parse((await ctx.tools.kubectl(['get', 'nodes', '--output', 'json'])).stdout) as NodeList;
    const managed = list.items.filter((n) => n.metadata.annotations?.[CMAD_ANNOTATION] === 'true').map((n) => n.metadata.name);
    if (managed.length) {
      throw new HarnessError(
        'COMMAND_FAILED',
        `the kubelet on ${managed.join(', ')} runs with controller attach-detach enabled: the kubeadm ${ctx.v.kubeadmApi} patch in ${ctx.configPath} did not apply (kind skips a versioned patch for another kubeadm API); check kubeadmApi for ${ctx.v.version} in clusters/kind/versions.ts`,
      );
    }
    ctx.nodes = ctx.nodes.map((n) => {
      const item = list.items.find((i) => i.metadata.name === n.name);
      return { name: n.name, address: item?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '' };
    });
    const missing = ctx.nodes.filter((n) => !n.address).map((n) => n.name);
    if (missing.length) throw new HarnessError('COMMAND_FAILED', `nodes ${missing.join(', ')} have no InternalIP (kubectl get nodes shows ${list.items.map((i) => i.metadata.name).join(', ')})`);
    const version = JSON.parse((await ctx.tools.kubectl(['get', '--raw', '/version'])).stdout) as { gitVersion?: string };
    ctx.serverVersion = version.gitVersion ?? ctx.v.release;
    if (!ctx.serverVersion.startsWith(`v1.${ctx.v.minor}.`)) ctx.warn(`the cluster reports ${ctx.serverVersion}, not a ${ctx.v.version} release`);
    ctx.log('nodes ready', { nodes: ctx.nodes, version: ctx.serverVersion });
  },
};
