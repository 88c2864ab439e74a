// The kind cluster config per version, read back as YAML the way kind reads it: nodes, networking, mounts, and the
// kubelet flags in the kubeadm API shape each version's kubeadm accepts (map for v1beta2/v1beta3, appended list
// entries for v1beta4).
import t from 'tap';
import { parse } from 'yaml';
import { PLUGIN_DIR, POD_SUBNET, kindClusterConfig, kindClusterConfigYaml, kubeletFlags } from './cluster-config.js';
import { KIND_NODE_MOUNTS } from './testing.js';
import { kindVersion } from './versions.js';

const parsed = (v: string) => parse(kindClusterConfigYaml(kindVersion(v))) as any;
const FLAGS = { 'enable-controller-attach-detach': 'false', 'volume-plugin-dir': PLUGIN_DIR };

t.test('every version: one control plane, two workers, no default CNI, the Calico pod subnet, host /dev', async (t) => {
  for (const v of ['1.19', '1.25', '1.30', '1.33', '1.37']) {
    const c = parsed(v);
    t.equal(c.kind, 'Cluster', v);
    t.equal(c.apiVersion, 'kind.x-k8s.io/v1alpha4', v);
    t.same(c.networking, { disableDefaultCNI: true, podSubnet: '192.168.0.0/16' }, v);
    t.same(c.nodes.map((n: any) => n.role), ['control-plane', 'worker', 'worker'], v);
    for (const n of c.nodes) {
      t.same(n.extraMounts, [{ hostPath: '/dev', containerPath: '/dev' }], `${v} ${n.role} mounts`);
      // kind mounts these itself (docker run --volume /lib/modules:/lib/modules:ro, --volume /var, --tmpfs /tmp and
      // /run); a second mount on one of them is docker's "Duplicate mount point" and kind create fails.
      for (const own of KIND_NODE_MOUNTS) t.notOk(n.extraMounts.some((m: any) => m.containerPath === own), `${v} ${n.role}: no extra mount on ${own}`);
      t.notOk('image' in n, 'the image comes from --image, pinned by digest');
    }
  }
  t.equal(POD_SUBNET, '192.168.0.0/16', "Calico's default pool");
});

t.test('1.19 (kubeadm v1beta2) and 1.25, 1.30, 1.33 (v1beta3): versioned strategic patches with the map form', async (t) => {
  for (const [v, api] of [
    ['1.19', 'v1beta2'],
    ['1.25', 'v1beta3'],
    ['1.30', 'v1beta3'],
    ['1.33', 'v1beta3'],
  ]) {
    const c = parsed(v!);
    t.notOk(c.kubeadmConfigPatchesJSON6902, `${v}: no JSON 6902 patches`);
    const patches = c.kubeadmConfigPatches.map((p: string) => parse(p));
    t.same(
      patches,
      ['InitConfiguration', 'JoinConfiguration'].map((kind) => ({ apiVersion: `kubeadm.k8s.io/${api}`, kind, nodeRegistration: { kubeletExtraArgs: FLAGS } })),
      `${v}: ${api} map form on the control plane and the workers`,
    );
    // The value must be the string "false": kubeadm's map is map[string]string.
    t.match(c.kubeadmConfigPatches[0], /enable-controller-attach-detach: "false"/, `${v}: quoted`);
  }
});

t.test('1.37 (kubeadm v1beta4): the list form, appended with JSON 6902 so kind\'s own kubelet args stay', async (t) => {
  const c = parsed('1.37');
  t.notOk(c.kubeadmConfigPatches, 'no strategic patch: it would replace the whole kubeletExtraArgs list');
  t.equal(c.kubeadmConfigPatchesJSON6902.length, 2);
  for (const [i, kind] of ['InitConfiguration', 'JoinConfiguration'].entries()) {
    const p = c.kubeadmConfigPatchesJSON6902[i];
    t.match(p, { group: 'kubeadm.k8s.io', version: 'v1beta4', kind });
    t.same(parse(p.patch), [
      { op: 'add', path: '/nodeRegistration/kubeletExtraArgs/-', value: { name: 'enable-controller-attach-detach', value: 'false' } },
      { op: 'add', path: '/nodeRegistration/kubeletExtraArgs/-', value: { name: 'volume-plugin-dir', value: PLUGIN_DIR } },
    ]);
  }
  t.equal(parsed('1.36').kubeadmConfigPatchesJSON6902[0].version, 'v1beta4', '1.36 is the first v1beta4 version');
  t.ok(parsed('1.35').kubeadmConfigPatches, '1.35 is still v1beta3');
});

t.test('options and the header', async (t) => {
  const c = kindClusterConfig({ kubeadmApi: 'v1beta3' }, { podSubnet: '10.244.0.0/16', pluginDir: '/var/lib/kubelet/volumeplugins', workers: 1 });
  t.equal(c.networking.podSubnet, '10.244.0.0/16');
  t.equal(c.nodes.length, 2);
  t.match(c.kubeadmConfigPatches![0], /volume-plugin-dir: \/var\/lib\/kubelet\/volumeplugins/);
  t.same(kubeletFlags('/x'), [
    ['enable-controller-attach-detach', 'false'],
    ['volume-plugin-dir', '/x'],
  ]);
  t.match(kindClusterConfigYaml(kindVersion('1.30')), /^# kind v0\.29\.0 cluster for Kubernetes v1\.30\.13/);
});
