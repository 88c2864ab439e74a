/**
 * `dkc bench --embedded`: how fast the embedded provider is. Cluster start to ready, one pod with a dynamically
 * provisioned datera/iscsi volume from create to Ready, and N such pods at once (a Parallel StatefulSet), then
 * the teardown. Every volume goes the whole way: provisioner -> mock Datera -> tgt target -> node attach over
 * iSCSI -> mkfs -> mount -> bind into the pod. Figures only: nothing here passes or fails.
 */
import * as k8s from '@kubernetes/client-node';
import { waitFor } from '../lib/wait.js';
import { EmbeddedCluster, stopClustersOnSignals } from '../clusters/embedded/cluster.js';
import { clusterProfile } from '../clusters/embedded/profiles.js';

export interface EmbeddedBenchFigures {
  version: string;
  nodes: number;
  clusterReadyMs: number;
  /** StatefulSet created -> its one pod Ready, volume provisioned, attached, formatted and mounted. */
  podWithVolumeReadyMs: number;
  replicas: number;
  /** Parallel StatefulSet of `replicas` pods, each with its own volume: created -> all Ready. */
  replicasReadyMs: number;
  /** StatefulSet and claims deleted -> every pod gone, every volume deleted on the backend. */
  replicasGoneMs: number;
  clusterStopMs: number;
}

const NS = 'bench';

function statefulSet(name: string, replicas: number, fsType: string): k8s.V1StatefulSet {
  return {
    metadata: { name },
    spec: {
      serviceName: name,
      replicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'main',
              image: 'busybox',
              command: ['sh', '-c', "echo $(hostname) > /data/who && trap 'exit 0' TERM; while true; do sleep 1; done"],
              readinessProbe: { exec: { command: ['sh', '-c', 'test -s /data/who'] }, periodSeconds: 1 },
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: `bench-${fsType}`, resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

export async function embeddedBench(o: { version?: string; nodes?: number; replicas: number; fsType?: string }): Promise<EmbeddedBenchFigures> {
  const fsType = o.fsType ?? 'xfs';
  const t0 = performance.now();
  stopClustersOnSignals();
  const cluster = await EmbeddedCluster.start({ profile: clusterProfile(o.version ?? 'v1.32'), nodes: o.nodes ?? 2 });
  const clusterReadyMs = performance.now() - t0;
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const storage = kc.makeApiClient(k8s.StorageV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await storage.createStorageClass({
      body: { metadata: { name: `bench-${fsType}` }, provisioner: 'datera.io/provisioner-datera', reclaimPolicy: 'Delete', parameters: { replica: '1', fsType, secretName: 'datera-secret', secretNamespace: 'datera' } },
    });
    const ready = (name: string, n: number) =>
      waitFor(
        `${name}: ${n} ready replicas`,
        async (saw) => {
          const s = await apps.readNamespacedStatefulSet({ name, namespace: NS });
          saw(`${s.status?.readyReplicas ?? 0} ready`);
          return (s.status?.readyReplicas ?? 0) === n ? true : undefined;
        },
        { timeoutMs: 600_000, intervalMs: 200 },
      );

    let t = performance.now();
    await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('one', 1, fsType) });
    await ready('one', 1);
    const podWithVolumeReadyMs = performance.now() - t;

    t = performance.now();
    await apps.createNamespacedStatefulSet({ namespace: NS, body: statefulSet('many', o.replicas, fsType) });
    await ready('many', o.replicas);
    const replicasReadyMs = performance.now() - t;

    t = performance.now();
    for (const name of ['one', 'many']) await apps.deleteNamespacedStatefulSet({ name, namespace: NS });
    await waitFor('pods gone', async () => ((await core.listNamespacedPod({ namespace: NS })).items.length === 0 ? true : undefined), { timeoutMs: 600_000, intervalMs: 200 });
    await core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace: NS });
    await waitFor('volumes deleted', async () => ((await core.listPersistentVolume()).items.length === 0 ? true : undefined), { timeoutMs: 600_000, intervalMs: 200 });
    const replicasGoneMs = performance.now() - t;

    t = performance.now();
    const left = await cluster.stop();
    if (left.length) throw new Error(`cluster cleanup left: ${left.join('; ')}`);
    return {
      version: cluster.version,
      nodes: o.nodes ?? 2,
      clusterReadyMs,
      podWithVolumeReadyMs,
      replicas: o.replicas,
      replicasReadyMs,
      replicasGoneMs,
      clusterStopMs: performance.now() - t,
    };
  } finally {
    await cluster.stop();
  }
}

export function formatEmbeddedBench(f: EmbeddedBenchFigures): string[] {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `embedded cluster (${f.version}, ${f.nodes} nodes): ready in ${s(f.clusterReadyMs)}, stopped in ${s(f.clusterStopMs)}`,
    `pod with a new datera/iscsi volume (provision, attach over iSCSI, mkfs, mount): Ready after ${s(f.podWithVolumeReadyMs)}`,
    `${f.replicas} such pods at once (Parallel StatefulSet): all Ready after ${s(f.replicasReadyMs)}; all pods and volumes gone ${s(f.replicasGoneMs)} after delete`,
  ];
}
