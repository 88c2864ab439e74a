// hygiene: the final sweep after every other scenario. Each scenario already checks that it left nothing behind;
// this one looks at the whole cluster, its nodes and the backend once more, so something that only shows up later
// (a logout that never happened, a volume the provisioner failed to delete, a namespace stuck terminating) still
// fails the run, and each kind of leftover is its own check listing what is left. It is nothing but that check,
// so it runs without the runner's own after-scenario check (noHygiene).
import type * as k8s from '@kubernetes/client-node';
import type { Test } from 'tap';
import { scenario, type Scenario } from '../../harness/index.js';

const LABEL = 'dkc.datera.io/scenario';
/** Datera target IQNs (the mock uses the same form): other iSCSI on a real node is not ours to judge. */
const DATERA_IQN = /iqn\.2013-05\.com\.daterainc:/;
/** Names scenarios give what they make: namespaces `dkc-<id>-<hex>`, and PVs, classes and static volumes after them. */
const SCENARIO_NAME = /^dkc-/;

type Kind = 'namespaces' | 'pvs' | 'classes' | 'sessions' | 'mounts' | 'devices' | 'volumes' | 'acl' | 'targets';

/** One look at everything; a probe that could not look says so as a leftover line (never an empty pass). */
async function survey(s: Scenario, initiators: Set<string>): Promise<Record<Kind, string[]>> {
  const left: Record<Kind, string[]> = { namespaces: [], pvs: [], classes: [], sessions: [], mounts: [], devices: [], volumes: [], acl: [], targets: [] };
  const attempt = async (kind: Kind, what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      left[kind].push(`could not look at ${what}: ${(err as Error).message}`);
    }
  };
  await attempt('namespaces', 'namespaces', async () => {
    for (const n of (await s.kube.core.listNamespace()).items) {
      const name = n.metadata!.name!;
      if (name === s.ns || !(n.metadata?.labels?.[LABEL] || SCENARIO_NAME.test(name))) continue;
      left.namespaces.push(`namespace ${name} (${n.status?.phase ?? 'Active'}${n.metadata?.labels?.[LABEL] ? `, scenario ${n.metadata.labels[LABEL]}` : ''})`);
    }
  });
  await attempt('pvs', 'PersistentVolumes', async () => {
    for (const pv of (await s.kube.core.listPersistentVolume()).items) {
      const byLabel = pv.metadata?.labels?.[LABEL];
      const claimNs = pv.spec?.claimRef?.namespace ?? '';
      // The provisioner's PVs carry no scenario label: they are known by the claim's namespace.
      if (!byLabel && !(pv.spec?.flexVolume?.driver === s.ctx.driver && SCENARIO_NAME.test(claimNs))) continue;
      left.pvs.push(`PV ${pv.metadata!.name} (${pv.status?.phase ?? '?'}${byLabel ? `, scenario ${byLabel}` : ''}${pv.spec?.claimRef ? `, claim ${claimNs}/${pv.spec.claimRef.name}` : ''}, ${pv.spec?.persistentVolumeReclaimPolicy ?? '?'})`);
    }
  });
  await attempt('classes', 'StorageClasses', async () => {
    for (const sc of (await s.kube.storage.listStorageClass()).items as k8s.V1StorageClass[]) {
      const byLabel = sc.metadata?.labels?.[LABEL];
      if (byLabel || SCENARIO_NAME.test(sc.metadata!.name!)) left.classes.push(`StorageClass ${sc.metadata!.name} (${sc.provisioner}${byLabel ? `, scenario ${byLabel}` : ''})`);
    }
  });
  for (const n of s.nodes.nodes) {
    await attempt('sessions', `iSCSI sessions on ${n.name}`, async () => {
      for (const x of await s.nodes.sessions(n.name)) if (DATERA_IQN.test(x.target)) left.sessions.push(`node ${n.name}: session to ${x.target} via ${x.portal}`);
    });
    await attempt('mounts', `mounts on ${n.name}`, async () => {
      for (const m of await s.nodes.dateraMounts(n.name)) left.mounts.push(`node ${n.name}: ${m.target} (${m.fstype} from ${m.source})`);
    });
    await attempt('devices', `iSCSI devices on ${n.name}`, async () => {
      for (const d of await s.nodes.iscsiDevices(n.name)) if (DATERA_IQN.test(d)) left.devices.push(`node ${n.name}: /dev/disk/by-path/${d}`);
    });
  }
  const b = s.backend;
  if (b) {
    await attempt('volumes', 'backend volumes', async () => {
      const vols = await b.volumes();
      for (const v of vols) {
        // The mock starts empty for the run, so anything on it is the run's; on a real system only what carries
        // the scenarios' names is ours (provisioned k8s-pvc-<uid> volumes are caught by each scenario's check).
        if (b.isMock || SCENARIO_NAME.test(v.name)) left.volumes.push(`volume ${v.name} (${v.adminState}, ${v.size} GiB)`);
        const ours = v.initiators.filter((i) => b.isMock || initiators.has(i) || SCENARIO_NAME.test(v.name));
        for (const i of ours) left.acl.push(`volume ${v.name}: ${i}`);
      }
    });
    if (b.isMock) {
      await attempt('targets', 'target-side sessions', async () => {
        for (const x of (await b.sessions()) ?? []) left.targets.push(`target ${x.target}: session from ${x.initiator || '(unknown initiator)'}`);
      });
    }
  }
  return left;
}

await scenario(
  'hygiene',
  async (s) => {
    const noNodes = s.nodes.available ? false : 'no node access in this context (the provider gave none)';
    const noBackend = s.backend ? false : 'no backend in this context (give --backend and credentials)';
    // This cluster's initiators: on a real system, ACL entries naming them are ours whatever the volume is called.
    const initiators = new Set<string>();
    for (const n of s.nodes.nodes) {
      const iqn = await s.nodes.initiatorName(n.name).catch(() => undefined);
      if (iqn) initiators.add(iqn);
    }
    // Unmounts, logouts and deletions run after a scenario's objects go: give them a little while to finish.
    let left = await survey(s, initiators);
    await s.kube
      .until(
        'nothing left on the cluster, its nodes and the backend',
        async () => {
          left = await survey(s, initiators);
          return Object.values(left).every((l) => l.length === 0) ? true : undefined;
        },
        { timeoutMs: 45_000, intervalMs: 2000 },
      )
      .catch(() => undefined);

    const judge = (kind: Kind, what: string) => (t: Test) => {
      if (left[kind].length) s.evidence(left[kind].join('\n'));
      t.same(left[kind], [], `${what}: ${left[kind].length ? `${left[kind].length} left: ${left[kind].slice(0, 10).join('; ')}${left[kind].length > 10 ? '; ...' : ''}` : 'none'}`);
    };
    await s.check('no namespaces left by scenarios (dkc-*)', judge('namespaces', 'scenario namespaces'));
    await s.check('no PersistentVolumes left by scenarios (labelled, or provisioned for a dkc-* claim)', judge('pvs', 'scenario PVs'));
    await s.check('no StorageClasses left by scenarios', judge('classes', 'scenario StorageClasses'));
    await s.check('no iSCSI sessions to Datera targets on any node', judge('sessions', 'node sessions'), { skip: noNodes });
    await s.check('no datera/iscsi mounts on any node', judge('mounts', 'datera mounts under the kubelet roots'), { skip: noNodes });
    await s.check('no Datera iSCSI devices on any node', judge('devices', 'Datera block devices'), { skip: noNodes });
    await s.check(
      s.backend?.isMock ? 'no backend volumes left (the mock starts empty)' : 'no backend volumes left with the scenarios\' names (dkc-*)',
      judge('volumes', 'backend volumes'),
      { skip: noBackend },
    );
    await s.check('no initiator left in any volume\'s ACL', judge('acl', 'ACL entries'), { skip: noBackend || (s.backend!.isMock || initiators.size ? false : 'a real Datera without node access: this cluster\'s initiator names are unknown') });
    await s.check('no target-side iSCSI sessions', judge('targets', 'target sessions'), {
      skip: noBackend || (s.backend!.isMock ? false : 'a real Datera\'s REST API does not list target sessions per initiator; the node-side check covers them'),
    });
  },
  { noHygiene: true },
);
