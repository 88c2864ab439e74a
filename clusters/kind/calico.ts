/**
 * Calico for kind clusters, installed from the plain manifest (calico.yaml, kube-system), not the operator: one file
 * the user can cache for offline runs, and one we can patch before applying.
 *
 * Release per series: versions.ts pins the series per Kubernetes range (v3.26); the patch release below is one that
 * exists (each was found in projectcalico/calico release PRs or published manifests; not necessarily the newest).
 * A row overridden with a full release (v3.30.2) uses that release.
 *
 * The manifest comes from `$DKC_CALICO_MANIFEST_DIR/calico-<release>.yaml` (the user's cached copy; another patch of
 * the same series is used when the exact one is missing, with a note), or is downloaded from
 * https://raw.githubusercontent.com/projectcalico/calico/<release>/manifests/calico.yaml with the user's network (and
 * saved into the cache dir when one is set). A download is cached only when it is a Calico manifest (a calico-node
 * DaemonSet in it), so a wrong answer cannot stick for later runs. Releases before 3.24 are probably not at that URL:
 * in 2021 (3.19) versioned manifests were not in the repository, only rendered on the docs site
 * (projectcalico/calico#4729), and the docs switched to the raw repository links with 3.24 (projectcalico/calico#6587).
 * The rows for 1.19-1.22 (Calico 3.20-3.22) therefore most likely need the manifest cached by hand (unverified).
 *
 * The patch: Calico's own FlexVolume driver (the flexvol-driver init container, pod2daemon-flexvol, which installs
 * nodeagent~uds into the kubelet plugin dir) is removed with its host volume, so the plugin dir holds only the driver
 * under test; CALICO_IPV4POOL_CIDR is set to the kind pod subnet; IP autodetection is pinned to eth0, kind's own
 * network, because the nodes are also joined to the tgt target's networks (eth1, eth2) later.
 */
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { HarnessError, errorMessage } from '../../lib/errors.js';
import { compareReleases } from './tools.js';

export const CALICO_RELEASES: Readonly<Record<string, string>> = {
  'v3.20': 'v3.20.6',
  'v3.21': 'v3.21.6',
  'v3.22': 'v3.22.5',
  'v3.25': 'v3.25.2',
  'v3.26': 'v3.26.5',
  'v3.28': 'v3.28.5',
  'v3.29': 'v3.29.6',
  'v3.30': 'v3.30.7',
  'v3.31': 'v3.31.4',
};

/** `v3.26` -> `v3.26.5`; a full release is kept. Throws BAD_INPUT for a series without a known release. */
export function calicoRelease(calico: string): string {
  if (/^v3\.\d+\.\d+$/.test(calico)) return calico;
  const r = CALICO_RELEASES[calico];
  if (!r) throw new HarnessError('BAD_INPUT', `no Calico release known for series ${calico}; set kind.versions.<version>.calico to a full release such as ${calico}.0 in the config file`);
  return r;
}

export const calicoManifestUrl = (release: string) => `https://raw.githubusercontent.com/projectcalico/calico/${release}/manifests/calico.yaml`;

export interface CalicoSource {
  text: string;
  /** The release of the manifest used (may differ in the patch level from the one asked for, when cached). */
  release: string;
  /** A file path or the URL. */
  from: string;
}

export interface CalicoFetchOptions {
  /** `$DKC_CALICO_MANIFEST_DIR`. */
  cacheDir?: string;
  /** Download when no cached copy exists; the global fetch by default, false to refuse (offline runs, tests). */
  fetch?: typeof fetch | false;
  note?: (msg: string) => void;
}

/** The manifest for `release` (a full Calico release), from the cache dir or the upstream URL. */
export async function calicoManifest(release: string, o: CalicoFetchOptions = {}): Promise<CalicoSource> {
  const series = release.replace(/\.\d+$/, '');
  if (o.cacheDir) {
    const exact = join(o.cacheDir, `calico-${release}.yaml`);
    const text = await readFile(exact, 'utf8').catch(() => undefined);
    if (text !== undefined) return { text, release, from: exact };
    const names = await readdir(o.cacheDir).catch(() => [] as string[]);
    const same = names
      .map((n) => /^calico-(v3\.\d+\.\d+)\.yaml$/.exec(n)?.[1])
      .filter((r): r is string => !!r && r.replace(/\.\d+$/, '') === series)
      .sort(compareReleases);
    const best = same.at(-1);
    if (best) {
      const file = join(o.cacheDir, `calico-${best}.yaml`);
      o.note?.(`Calico ${release} is not cached; using ${file} of the same series`);
      return { text: await readFile(file, 'utf8'), release: best, from: file };
    }
  }
  const url = calicoManifestUrl(release);
  const where = o.cacheDir ? `${join(o.cacheDir, `calico-${release}.yaml`)}` : `$DKC_CALICO_MANIFEST_DIR/calico-${release}.yaml`;
  if (o.fetch === false) throw new HarnessError('MISSING_TOOL', `no cached Calico ${release} manifest and downloads are off; save ${url} as ${where}`);
  const get = o.fetch ?? fetch;
  let text: string;
  try {
    const res = await get(url, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (err) {
    throw new HarnessError('MISSING_TOOL', `could not download the Calico ${release} manifest from ${url} (${errorMessage(err)}); save it as ${where} on a machine with access`, { cause: err });
  }
  if (!isCalicoManifest(text)) {
    throw new HarnessError('MISSING_TOOL', `${url} did not answer with a Calico manifest (no calico-node DaemonSet in it; releases before v3.24 may not be published there); save the release's calico.yaml as ${where}`);
  }
  if (o.cacheDir) {
    await mkdir(o.cacheDir, { recursive: true });
    await writeFile(join(o.cacheDir, `calico-${release}.yaml`), text);
  }
  return { text, release, from: url };
}

/** A YAML stream with the calico-node DaemonSet in it (what patchCalicoManifest needs). */
export function isCalicoManifest(text: string): boolean {
  return documents(text).some((d) => {
    if (d.errors.length) return false;
    const o = d.toJS() as KObj | null;
    return o?.kind === 'DaemonSet' && o.metadata?.name === 'calico-node';
  });
}

interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: { name: string }[];
}

interface PodSpec {
  initContainers?: Container[];
  containers?: Container[];
  volumes?: { name: string }[];
}

interface KObj {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: { template?: { spec?: PodSpec } };
}

export interface CalicoPatchOptions {
  podCidr: string;
  /** Calico IP_AUTODETECTION_METHOD; default interface=eth0 (kind's network inside a node). */
  autodetect?: string;
}

export interface PatchedCalico {
  text: string;
  /** What was removed, for the log: `initContainer flexvol-driver`, `volume flexvol-driver-host`. */
  removed: string[];
  /** Every image the manifest's workloads run, for `kind load`. */
  images: string[];
}

function documents(text: string) {
  const d = parseAllDocuments(text);
  return Array.isArray(d) ? d : [];
}

const FLEX_INIT = 'flexvol-driver';
const FLEX_VOLUME = 'flexvol-driver-host';

function setEnv(c: Container, name: string, value: string): void {
  c.env ??= [];
  const e = c.env.find((x) => x.name === name);
  if (e) {
    delete e.valueFrom;
    e.value = value;
  } else c.env.push({ name, value });
}

/**
 * Patch a calico.yaml: Calico's FlexVolume driver out, the pool CIDR and IP autodetection in. Documents other than
 * the calico-node DaemonSet are kept as written (with their comments). Newer manifests have no flexvol-driver;
 * then nothing is removed.
 */
export function patchCalicoManifest(text: string, o: CalicoPatchOptions): PatchedCalico {
  const docs = documents(text);
  const removed: string[] = [];
  let found = false;
  const out: string[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new HarnessError('BAD_INPUT', `the Calico manifest is not valid YAML: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as KObj | null;
    const pod = obj?.spec?.template?.spec;
    if (!obj || obj.kind !== 'DaemonSet' || obj.metadata?.name !== 'calico-node' || !pod) {
      if (obj !== null) out.push(doc.toString({ lineWidth: 0 }).replace(/^---\n/, ''));
      continue;
    }
    found = true;
    const gone = new Set<string>();
    if (pod.initContainers?.some((c) => c.name === FLEX_INIT)) {
      pod.initContainers = pod.initContainers.filter((c) => c.name !== FLEX_INIT);
      removed.push(`initContainer ${FLEX_INIT}`);
    }
    if (pod.volumes?.some((v) => v.name === FLEX_VOLUME)) {
      pod.volumes = pod.volumes.filter((v) => v.name !== FLEX_VOLUME);
      gone.add(FLEX_VOLUME);
      removed.push(`volume ${FLEX_VOLUME}`);
    }
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      if (c.volumeMounts?.some((m) => gone.has(m.name))) c.volumeMounts = c.volumeMounts.filter((m) => !gone.has(m.name));
    }
    const node = pod.containers?.find((c) => c.name === 'calico-node');
    if (!node) throw new HarnessError('BAD_INPUT', 'the calico-node DaemonSet has no calico-node container; is this a Calico manifest?');
    setEnv(node, 'CALICO_IPV4POOL_CIDR', o.podCidr);
    setEnv(node, 'IP_AUTODETECTION_METHOD', o.autodetect ?? 'interface=eth0');
    if (pod.initContainers?.length === 0) delete pod.initContainers;
    out.push(`# calico-node as patched by dkc (clusters/kind/calico.ts): ${removed.length ? `removed ${removed.join(', ')}; ` : ''}CALICO_IPV4POOL_CIDR=${o.podCidr}\n` + stringify(obj, { lineWidth: 0 }));
  }
  if (!found) throw new HarnessError('BAD_INPUT', 'the Calico manifest has no calico-node DaemonSet; give calico.yaml (the manifest install), not the operator manifest');
  // Images of the patched workloads: the removed init container's image is not needed.
  const kept = new Set<string>();
  for (const d of documents(out.join('---\n'))) {
    const pod = (d.toJS() as KObj | null)?.spec?.template?.spec;
    for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) if (c.image) kept.add(c.image);
  }
  return { text: out.map((s) => (s.endsWith('\n') ? s : s + '\n')).join('---\n'), removed, images: [...kept] };
}
