/**
 * Emulated Kubernetes versions: every difference between versions that a scenario can see (the PV controller,
 * StatefulSet and garbage collector semantics, kubelet's FlexVolume call-outs, from upstream's source per release).
 * One row per profile; the embedded control plane and node agents read only this table, never a version number, so
 * a behaviour is switched in exactly one place.
 * Behaviour not confirmed against upstream is marked unverified where it is used.
 */
import { HarnessError } from '../../lib/errors.js';
import { wireProfile, type K8sProfile } from '../../lib/flex-wire.js';

export type GateStage = 'absent' | 'alpha' | 'beta' | 'ga';

export interface ClusterProfile {
  /** `v1.32`. */
  version: string;
  /** The release whose behaviour is emulated, `v1.32.9`. */
  release: string;
  minor: number;
  /** What the emulated kubelet sends to FlexVolume drivers. */
  wire: K8sProfile;
  /** StatefulSet group versions served, preferred first. apps/v1 from 1.9; v1beta1/v1beta2 gone in 1.16. */
  statefulSetVersions: string[];
  /** storage.k8s.io versions served for StorageClass, preferred first. */
  storageClassVersions: string[];
  /** StatefulSetAutoDeletePVC: alpha 1.23 (off by default), beta 1.27 (on), GA 1.32. */
  pvcRetentionPolicy: GateStage;
  /** kubernetes.io/pvc-protection on PVCs: beta (on) 1.10, GA 1.11. */
  pvcProtection: boolean;
  /** kubernetes.io/pv-protection on PVs: 1.10. */
  pvProtection: boolean;
  /** apiserver warns on create/update of a PV with Recycle (1.30+). */
  recycleWarning: boolean;
  /** VolumeFailedDelete text for a flexVolume PV with Delete and no external provisioner (capitalised before ~1.2x; unverified boundary, taken as 1.20). */
  noDeleterMessage: (pv: string) => string;
  /** Plugin name in unique volume names: `flexvolume-` prefix 1.7 to 1.15 (dropped ~1.16, unverified). */
  flexPluginPrefix: string;
  /** Pod label apps.kubernetes.io/pod-index (beta 1.28). */
  podIndexLabel: boolean;
  /** Pod label statefulset.kubernetes.io/pod-name (1.9). */
  podNameLabel: boolean;
  /** RetroactiveDefaultStorageClass (GA 1.28; beta on from 1.26). */
  retroactiveDefaultClass: boolean;
  /** StatefulSet spec.ordinals.start honoured (beta on 1.27). */
  ordinals: boolean;
  /** PV status.lastPhaseTransitionTime written (beta on 1.29). */
  lastPhaseTransitionTime: boolean;
  /** Server-side field validation (fieldValidation query parameter; beta on 1.25, GA 1.27). */
  fieldValidation: boolean;
  /** Aggregated discovery (beta 1.27, GA 1.30): served only when the client asks for it. */
  aggregatedDiscovery: boolean;
  /**
   * Streaming lists (watch with sendInitialEvents, KEP-3157): 'absent' before 1.27 (the parameter is unknown and
   * ignored), 'off' where the WatchList gate exists but is off by default (alpha 1.27-1.31; 1.33 turned the beta
   * default off again), 'on' in 1.32 and from 1.34. Clients such as kubectl 1.35 fall back to LIST+WATCH on 'off'.
   */
  watchList: 'absent' | 'off' | 'on';
  /** PVC protection holds a claim until its pod object is gone, whatever the pod's phase (kubernetes #67954, 1.12). */
  pvcProtectionWaitsForPodDeletion: boolean;
}

function profile(minor: number, patch: number): ClusterProfile {
  const version = `v1.${minor}`;
  const release = `v1.${minor}.${patch}`;
  const stage = (alpha: number, beta: number, ga: number): GateStage => (minor >= ga ? 'ga' : minor >= beta ? 'beta' : minor >= alpha ? 'alpha' : 'absent');
  return {
    version,
    release,
    minor,
    wire: wireProfile(version, release, minor, patch),
    statefulSetVersions: minor >= 16 ? ['v1'] : minor >= 9 ? ['v1', 'v1beta2', 'v1beta1'] : minor >= 8 ? ['v1beta2', 'v1beta1'] : ['v1beta1'],
    storageClassVersions: minor >= 22 ? ['v1'] : minor >= 6 ? ['v1', 'v1beta1'] : ['v1beta1'],
    pvcRetentionPolicy: stage(23, 27, 32),
    pvcProtection: minor >= 10,
    pvProtection: minor >= 10,
    recycleWarning: minor >= 30,
    noDeleterMessage: (pv) =>
      minor >= 20 ? `error getting deleter volume plugin for volume "${pv}": no deletable volume plugin matched` : `Error getting deleter volume plugin for volume "${pv}": no volume plugin matched`,
    flexPluginPrefix: minor >= 7 && minor < 16 ? 'flexvolume-' : '',
    podIndexLabel: minor >= 28,
    podNameLabel: minor >= 9,
    retroactiveDefaultClass: minor >= 26,
    ordinals: minor >= 27,
    lastPhaseTransitionTime: minor >= 29,
    fieldValidation: minor >= 25,
    aggregatedDiscovery: minor >= 27,
    watchList: minor < 27 ? 'absent' : minor === 32 || minor >= 34 ? 'on' : 'off',
    pvcProtectionWaitsForPodDeletion: minor >= 12,
  };
}

/** Oldest first. 1.6 and 1.10 are the Datera era; the rest span what kubectl v1.20-v1.35 talk to. */
export const CLUSTER_PROFILES: readonly ClusterProfile[] = [
  profile(6, 13),
  profile(10, 13),
  profile(20, 15),
  profile(27, 16),
  profile(32, 9),
  profile(35, 0),
];

/** The profiles `npm start` runs by default. */
export const DEFAULT_VERSIONS = ['v1.20', 'v1.27', 'v1.32', 'v1.35'];

export const emulatedLabel = (p: ClusterProfile) => `${p.version} (emulated)`;
/**
 * The gitVersion the emulated server and kubelets report: the release plus semver build metadata, the way
 * distributions mark their builds (`v1.27.3+k3s1`). Clients parse it as the release; humans see it is emulated.
 */
export const emulatedGitVersion = (p: ClusterProfile) => `${p.release}+dkc.emulated`;

/** `1.32`, `v1.32` or `v1.32.9` -> the profile; unknown versions name the known ones. */
export function clusterProfile(spec: string): ClusterProfile {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?$/.exec(spec.trim());
  const p = m && Number(m[1]) === 1 ? CLUSTER_PROFILES.find((x) => x.minor === Number(m[2])) : undefined;
  if (!p) throw new HarnessError('BAD_INPUT', `no embedded profile for Kubernetes '${spec}'; known: ${CLUSTER_PROFILES.map((x) => x.version).join(', ')}`);
  return p;
}
