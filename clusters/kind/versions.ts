/**
 * Which kind release, node image and Calico series serve each Kubernetes minor on the kind provider.
 *
 * Sources (kind's release notes and their pre-built kindest/node image lists; cluster-api's kind mapper for digests):
 * - kind release per minor: section 1, "Kubernetes minor -> last kind release that ships an image for it". We take
 *   the newest kind release that published an image for the minor, so one matrix needs several kind binaries.
 * - Node image digests: kubernetes-sigs/cluster-api `test/infrastructure/kind/mapper.go` (commit 0f670b79), the
 *   curated copy of each kind release's image list the reference cites. Not re-checked against every kind release
 *   note; a wrong digest shows up as a pull failure, and any row can be replaced from the config file
 *   (`kind.versions.<version>`), see harness/plan/README.md.
 * - kubeadm config API: section 1, "Oldest Kubernetes kind can run" (v1beta2 < 1.23, v1beta3 1.23-1.35, v1beta4 >= 1.36).
 * - Calico: section 3's tested-versions table; we take the newest series whose tested range holds the minor. Only the
 *   series is pinned: the reference names no patch releases (see `calicoPinned`).
 */
import { HarnessError } from '../../lib/errors.js';

export type KubeadmApi = 'v1beta2' | 'v1beta3' | 'v1beta4';

export interface KindVersion {
  /** The Kubernetes minor, `v1.32`. */
  version: string;
  minor: number;
  /** The Kubernetes release inside the node image, `v1.32.11`. */
  release: string;
  /** The kind release that built the image (and must create the cluster), `v0.31.0`. */
  kindRelease: string;
  /** `kindest/node:v1.32.11@sha256:<64 hex>`. */
  nodeImage: string;
  /** Calico series, `v3.31`. */
  calico: string;
  /** The Calico series lists this minor among its tested versions. */
  calicoTested: boolean;
  kubeadmApi: KubeadmApi;
  /** What the reference is unsure about or warns of for this row; empty when nothing. */
  notes: string[];
}

/** Replace parts of a row (or add a minor the table lacks: then all three are needed). */
export interface KindVersionOverride {
  kindRelease?: string;
  nodeImage?: string;
  calico?: string;
}

export const KIND_RELEASE_RE = /^v0\.\d+\.\d+$/;
export const CALICO_RE = /^v3\.\d+(?:\.\d+)?$/;
/** A kindest/node image pinned by digest; the tag names the Kubernetes release. */
export const NODE_IMAGE_RE = /^(?:[a-z0-9.-]+(?::\d+)?\/)*[a-z0-9._-]+:(v1\.(\d+)\.\d+)@sha256:[0-9a-f]{64}$/;

/** The Kubernetes release a pinned node image carries; throws when the image is not `name:v1.X.Y@sha256:<64 hex>` of `minor`. */
export function nodeImageRelease(image: string, minor: number): string {
  const m = NODE_IMAGE_RE.exec(image);
  if (!m || Number(m[2]) !== minor) {
    throw new HarnessError('BAD_INPUT', `node image '${image}' is not a v1.${minor} image pinned by digest; give kindest/node:v1.${minor}.Z@sha256:<64 hex> from the kind release notes`);
  }
  return m[1]!;
}

const kubeadmApi = (minor: number): KubeadmApi => (minor < 23 ? 'v1beta2' : minor < 36 ? 'v1beta3' : 'v1beta4');

const UNVERIFIED_DOCKER = 'kind v0.17.0 with a current Docker Engine is unverified (reference section 1); try it early';
const OLD_CALICO = 'the reference advises Calico <= 3.21 for 1.19/1.20 (3.18-3.20 for 1.19) from a second-hand summary: Calico 3.29+ does not work on 1.20 or below';

function row(release: string, kindRelease: string, digest: string, calico: string, calicoTested: boolean, notes: string[] = []): KindVersion {
  const minor = Number(/^v1\.(\d+)\./.exec(release)![1]);
  return {
    version: `v1.${minor}`,
    minor,
    release,
    kindRelease,
    nodeImage: `kindest/node:${release}@sha256:${digest}`,
    calico,
    calicoTested,
    kubeadmApi: kubeadmApi(minor),
    notes: calicoTested ? notes : [...notes, `Calico ${calico} is not listed as tested with v1.${minor}; the newest series the reference knows is used`],
  };
}

/** Oldest first. 1.19 is the practical floor on cgroup v2 hosts (reference section 1). */
export const KIND_VERSIONS: readonly KindVersion[] = [
  row('v1.19.16', 'v0.17.0', '476cb3269232888437b61deca013832fee41f9f074f9bed79f57e4280f7c48b7', 'v3.20', false, [UNVERIFIED_DOCKER, OLD_CALICO]),
  row('v1.20.15', 'v0.17.0', 'a32bf55309294120616886b5338f95dd98a2f7231519c7dedcec32ba29699394', 'v3.21', true, [UNVERIFIED_DOCKER, OLD_CALICO]),
  row('v1.21.14', 'v0.20.0', '8a4e9bb3f415d2bb81629ce33ef9c76ba514c14d707f9797a01e3216376ba093', 'v3.22', true),
  row('v1.22.17', 'v0.20.0', 'f5b2e5698c6c9d6d0adc419c0deae21a425c07d81bbf3b6a6834042f25d4fba2', 'v3.22', true),
  row('v1.23.17', 'v0.22.0', '14d0a9a892b943866d7e6be119a06871291c517d279aedb816a4b4bc0ec0a5b3', 'v3.25', true),
  row('v1.24.17', 'v0.22.0', 'bad10f9b98d54586cba05a7eaa1b61c6b90bfc4ee174fdc43a7b75ca75c95e51', 'v3.26', true),
  row('v1.25.16', 'v0.24.0', '6110314339b3b44d10da7d27881849a87e092124afab5956f2e10ecdb463b025', 'v3.26', true),
  row('v1.26.15', 'v0.25.0', 'c79602a44b4056d7e48dc20f7504350f1e87530fe953428b792def00bc1076dd', 'v3.26', true),
  row('v1.27.16', 'v0.25.0', '2d21a61643eafc439905e18705b8186f3296384750a835ad7a005dceb9546d20', 'v3.28', true),
  row('v1.28.15', 'v0.25.0', 'a7c05c7ae043a0b8c818f5a06188bc2c4098f6cb59ca7d1856df00375d839251', 'v3.28', true),
  row('v1.29.14', 'v0.27.0', '8703bd94ee24e51b778d5556ae310c6c0fa67d761fae6379c8e0bb480e6fea29', 'v3.29', true),
  row('v1.30.13', 'v0.29.0', '397209b3d947d154f6641f2d0ce8d473732bd91c87d9575ade99049aa33cd648', 'v3.29', true),
  row('v1.31.14', 'v0.31.0', '6f86cf509dbb42767b6e79debc3f2c32e4ee01386f0489b3b2be24b0a55aac2b', 'v3.30', true),
  row('v1.32.11', 'v0.31.0', '5fc52d52a7b9574015299724bd68f183702956aa4a2116ae75a63cb574b35af8', 'v3.31', true),
  row('v1.33.12', 'v0.32.0', '3f5c8443c620245e4d355cfe09e96a91ead32ceaa569d3f1ca9edf0cb2fe2ff4', 'v3.31', true),
  row('v1.34.11', 'v0.33.0', '44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d', 'v3.31', true),
  // 1.35 was added to Calico 3.31's tested list in 2026 per the maintainers (projectcalico discussion #11717).
  row('v1.35.8', 'v0.33.0', '07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0', 'v3.31', true),
  row('v1.36.4', 'v0.33.0', '099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed', 'v3.31', false),
  row('v1.37.0', 'v0.33.0', 'a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5', 'v3.31', false),
];

/** The reference gives Calico series, not patch releases: the provider installs the series' manifest as configured. */
export const calicoPinned = (calico: string) => /^v3\.\d+\.\d+$/.test(calico);

/** `1.32`, `v1.32` or `v1.32.11` -> `{minor, release?}`; undefined when it is not a Kubernetes 1.x version. */
export function parseK8sVersion(spec: string): { minor: number; release?: string } | undefined {
  const m = /^v?1\.(\d+)(?:\.(\d+))?$/.exec(spec.trim());
  if (!m) return undefined;
  return { minor: Number(m[1]), ...(m[2] !== undefined ? { release: `v1.${Number(m[1])}.${Number(m[2])}` } : {}) };
}

export const kindVersionRange = () => `${KIND_VERSIONS[0]!.version} to ${KIND_VERSIONS[KIND_VERSIONS.length - 1]!.version}`;

/**
 * The row for `spec` with `overrides` (keyed `v1.32`) applied. A patch release in `spec` must be the one the row's
 * image carries. Throws BAD_INPUT naming what is accepted and how to get another version.
 */
export function kindVersion(spec: string, overrides: Readonly<Record<string, KindVersionOverride>> = {}): KindVersion {
  const v = parseK8sVersion(spec);
  if (!v) throw new HarnessError('BAD_INPUT', `'${spec}' is not a Kubernetes version; give 1.32, v1.32 or v1.32.11`);
  const version = `v1.${v.minor}`;
  const base = KIND_VERSIONS.find((r) => r.minor === v.minor);
  const o = overrides[version];
  let r: KindVersion;
  if (base && o) {
    const nodeImage = o.nodeImage ?? base.nodeImage;
    r = {
      ...base,
      release: o.nodeImage ? nodeImageRelease(nodeImage, v.minor) : base.release,
      kindRelease: o.kindRelease ?? base.kindRelease,
      nodeImage,
      calico: o.calico ?? base.calico,
      calicoTested: o.calico ? false : base.calicoTested,
      notes: [...base.notes, `overridden in the config file: ${Object.keys(o).join(', ')}`],
    };
  } else if (base) r = base;
  else if (o?.kindRelease && o.nodeImage && o.calico) {
    r = {
      version,
      minor: v.minor,
      release: nodeImageRelease(o.nodeImage, v.minor),
      kindRelease: o.kindRelease,
      nodeImage: o.nodeImage,
      calico: o.calico,
      calicoTested: false,
      kubeadmApi: kubeadmApi(v.minor),
      notes: ['not in the built-in table: kind release, node image and Calico come from the config file'],
    };
  } else {
    throw new HarnessError(
      'BAD_INPUT',
      `no kind node image known for Kubernetes ${version}; accepted: ${kindVersionRange()}` +
        (o ? ` (the config file's kind.versions.${version} needs kindRelease, nodeImage and calico to add a version)` : `; to add one, set kind.versions.${version} {kindRelease, nodeImage, calico} in the config file`),
    );
  }
  if (v.release && v.release !== r.release) {
    throw new HarnessError('BAD_INPUT', `the kind table pins ${r.release} for ${version} (kind ${r.kindRelease}), not ${v.release}; give ${version}, or set kind.versions.${version}.nodeImage in the config file to a ${v.release} image pinned by digest`);
  }
  return r;
}
