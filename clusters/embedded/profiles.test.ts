import t from 'tap';
import { HarnessError } from '../../lib/errors.js';
import { CLUSTER_PROFILES, clusterProfile, DEFAULT_VERSIONS, emulatedGitVersion, emulatedLabel, type ClusterProfile, type GateStage } from './profiles.js';

const KNOWN = 'v1.6, v1.10, v1.20, v1.27, v1.32, v1.35';

t.test('clusterProfile accepts the usual spellings', async (t) => {
  const p = clusterProfile('v1.32');
  for (const spec of ['1.32', 'v1.32.9', 'v1.32.0', ' v1.32 ']) t.equal(clusterProfile(spec), p, spec);
  t.equal(p.version, 'v1.32');
  t.equal(p.release, 'v1.32.9');
  t.equal(p.minor, 32);
  t.equal(clusterProfile('1.6').release, 'v1.6.13');
  t.equal(clusterProfile('v1.35.0').release, 'v1.35.0');
});

t.test('clusterProfile rejects unknown versions with the known ones', async (t) => {
  for (const spec of ['v1.33', '1.5', 'v2.32', 'latest', '', 'v1', '1.32.x', 'v1.32.9-rc.1']) {
    try {
      clusterProfile(spec);
      t.fail(`${JSON.stringify(spec)} should be rejected`);
    } catch (err) {
      t.ok(err instanceof HarnessError, spec);
      t.equal((err as HarnessError).code, 'BAD_INPUT');
      t.equal((err as Error).message, `no embedded profile for Kubernetes '${spec}'; known: ${KNOWN}`);
    }
  }
});

t.test('the table', async (t) => {
  t.same(
    CLUSTER_PROFILES.map((p) => p.minor),
    [6, 10, 20, 27, 32, 35],
    'oldest first',
  );
  for (const p of CLUSTER_PROFILES) {
    t.equal(p.version, `v1.${p.minor}`);
    t.match(p.release, new RegExp(`^v1\\.${p.minor}\\.\\d+$`));
    t.equal(p.wire.version, p.version, `${p.version}: FlexVolume wire profile names the same version`);
    t.equal(p.wire.release, p.release);
  }
  for (const v of DEFAULT_VERSIONS) t.equal(clusterProfile(v).version, v, `default ${v} exists`);
});

t.test('behaviour flags switch on once and stay on', async (t) => {
  const flags = [
    'pvcProtection',
    'pvProtection',
    'recycleWarning',
    'podIndexLabel',
    'podNameLabel',
    'retroactiveDefaultClass',
    'ordinals',
    'lastPhaseTransitionTime',
    'fieldValidation',
    'aggregatedDiscovery',
    'pvcProtectionWaitsForPodDeletion',
  ] as const satisfies readonly (keyof ClusterProfile)[];
  for (const f of flags) {
    const values = CLUSTER_PROFILES.map((p) => p[f]);
    const firstOn = values.indexOf(true);
    t.ok(firstOn >= 0, `${f} is on somewhere`);
    t.ok(
      values.every((v, i) => v === i >= firstOn),
      `${f} monotonic: ${values.join(',')}`,
    );
  }
  const order: GateStage[] = ['absent', 'alpha', 'beta', 'ga'];
  const stages = CLUSTER_PROFILES.map((p) => order.indexOf(p.pvcRetentionPolicy));
  t.same(
    stages,
    [...stages].sort((a, b) => a - b),
    'pvcRetentionPolicy only advances',
  );
});

t.test('what each version switches', async (t) => {
  const at = (v: string) => clusterProfile(v);
  // The first version each behaviour appears in, against its neighbour.
  const onFrom: [keyof ClusterProfile, string, string][] = [
    ['pvcProtection', 'v1.6', 'v1.10'],
    ['pvProtection', 'v1.6', 'v1.10'],
    ['podNameLabel', 'v1.6', 'v1.10'],
    ['pvcProtectionWaitsForPodDeletion', 'v1.10', 'v1.20'],
    ['retroactiveDefaultClass', 'v1.20', 'v1.27'],
    ['ordinals', 'v1.20', 'v1.27'],
    ['fieldValidation', 'v1.20', 'v1.27'],
    ['aggregatedDiscovery', 'v1.20', 'v1.27'],
    ['podIndexLabel', 'v1.27', 'v1.32'],
    ['lastPhaseTransitionTime', 'v1.27', 'v1.32'],
    ['recycleWarning', 'v1.27', 'v1.32'],
  ];
  for (const [flag, off, on] of onFrom) {
    t.equal(at(off)[flag], false, `${flag} off in ${off}`);
    t.equal(at(on)[flag], true, `${flag} on in ${on}`);
  }
  t.same(
    CLUSTER_PROFILES.map((p) => p.pvcRetentionPolicy),
    ['absent', 'absent', 'absent', 'beta', 'ga', 'ga'],
  );
  t.same(
    CLUSTER_PROFILES.map((p) => p.watchList),
    ['absent', 'absent', 'absent', 'off', 'on', 'on'],
    'WatchList: absent before 1.27, off by default 1.27, on in 1.32 and 1.35',
  );
  t.same(
    CLUSTER_PROFILES.map((p) => p.flexPluginPrefix),
    ['', 'flexvolume-', '', '', '', ''],
    'flexvolume- prefix only in 1.7-1.15',
  );
  t.same(at('v1.6').statefulSetVersions, ['v1beta1']);
  t.same(at('v1.10').statefulSetVersions, ['v1', 'v1beta2', 'v1beta1']);
  for (const v of ['v1.20', 'v1.27', 'v1.32', 'v1.35']) t.same(at(v).statefulSetVersions, ['v1'], `${v}: apps/v1 only`);
  t.same(at('v1.6').storageClassVersions, ['v1', 'v1beta1']);
  t.same(at('v1.20').storageClassVersions, ['v1', 'v1beta1']);
  t.same(at('v1.27').storageClassVersions, ['v1'], 'storage.k8s.io/v1beta1 StorageClass gone in 1.22');
  t.equal(at('v1.10').noDeleterMessage('pv1'), 'Error getting deleter volume plugin for volume "pv1": no volume plugin matched');
  t.equal(at('v1.20').noDeleterMessage('pv1'), 'error getting deleter volume plugin for volume "pv1": no deletable volume plugin matched');
});

t.test('FlexVolume wire profile', async (t) => {
  const w6 = clusterProfile('v1.6').wire;
  t.same(
    { legacy: w6.legacy, pvName: w6.pvName, podInfo: w6.podInfo, base64Secrets: w6.base64Secrets, fsGroupKey: w6.fsGroupKey, isattachedNodeFirst: w6.isattachedNodeFirst },
    { legacy: false, pvName: true, podInfo: false, base64Secrets: true, fsGroupKey: 'kubernetes.io/fsGroup', isattachedNodeFirst: true },
    '1.6.13: pvOrVolumeName (1.6.5+), no pod info, node first on isattached',
  );
  const w10 = clusterProfile('v1.10').wire;
  t.match(w10, { pvName: true, podInfo: true, fsGroupKey: 'kubernetes.io/fsGroup', isattachedNodeFirst: false });
  for (const v of ['v1.20', 'v1.35']) t.match(clusterProfile(v).wire, { legacy: false, podInfo: true, fsGroupKey: 'kubernetes.io/mounterArgs.FsGroup', isattachedNodeFirst: false }, v);
});

t.test('emulated version strings', async (t) => {
  t.equal(emulatedLabel(clusterProfile('v1.32')), 'v1.32 (emulated)');
  t.equal(emulatedGitVersion(clusterProfile('v1.32')), 'v1.32.9+dkc.emulated');
  t.equal(emulatedGitVersion(clusterProfile('1.6')), 'v1.6.13+dkc.emulated');
  // Semver build metadata: clients that parse gitVersion still see the release.
  for (const p of CLUSTER_PROFILES) t.match(emulatedGitVersion(p), /^v1\.\d+\.\d+\+[0-9A-Za-z.-]+$/);
});
