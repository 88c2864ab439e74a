/**
 * How many kind clusters fit at once. A kind node with Calico, the driver installer and a MariaDB pod settles around
 * 1.2-1.5 GiB (kubelet, containerd, etcd and the API server on the control plane); 1.5 GiB per node is the planning
 * figure, three nodes per cluster. The tgt container and the mock are small and run once per cluster on the host.
 */
import { totalmem } from 'node:os';

export const NODE_MIB = 1536;
export const NODES_PER_CLUSTER = 3;

export interface Parallelism {
  /** Clusters to bring up at once: at least 1, at most one per version. */
  atOnce: number;
  perClusterMiB: number;
  /** Set when even one cluster exceeds the budget. */
  warning?: string;
}

export function kindParallelism(versions: readonly string[], budgetMiB: number, o: { nodeMiB?: number; nodes?: number } = {}): Parallelism {
  const perClusterMiB = (o.nodeMiB ?? NODE_MIB) * (o.nodes ?? NODES_PER_CLUSTER);
  const fit = Math.floor(budgetMiB / perClusterMiB);
  const atOnce = Math.max(1, Math.min(versions.length, fit));
  return fit >= 1 || versions.length === 0
    ? { atOnce, perClusterMiB }
    : { atOnce, perClusterMiB, warning: `one kind cluster needs about ${perClusterMiB} MiB (${o.nodes ?? NODES_PER_CLUSTER} nodes x ${o.nodeMiB ?? NODE_MIB} MiB) but the budget is ${budgetMiB} MiB; running one at a time anyway` };
}

/** Three quarters of this machine's memory, in MiB: room for the harness, Docker and the host. */
export const defaultMemoryBudgetMiB = (): number => Math.floor((totalmem() / 2 ** 20) * 0.75);
