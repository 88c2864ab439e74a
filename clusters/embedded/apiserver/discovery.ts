/**
 * Discovery documents as a kube-apiserver of the profile's version serves them: /version, /api, /apis, /api/v1,
 * /apis/<group>[/<version>], and aggregated discovery (apidiscovery.k8s.io v2beta1 from 1.27, v2 from 1.30) for
 * clients that ask for it in Accept. Pure functions returning JSON-ready bodies.
 */
import { createHash } from 'node:crypto';
import { emulatedGitVersion, type ClusterProfile } from '../profiles.js';
import { apiVersionOf, groupsOf, resourcesFor, type ResourceType } from './resources.js';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: 'clean';
  buildDate: string;
  goVersion: string;
  compiler: 'gc';
  platform: string;
}

/** Go toolchain each minor was built with (last patch releases), as /version reports it. */
function goVersionOf(minor: number): string {
  if (minor >= 35) return 'go1.25.5';
  if (minor >= 33) return 'go1.24.9';
  if (minor >= 31) return 'go1.23.12';
  if (minor >= 29) return 'go1.22.12';
  if (minor >= 27) return 'go1.21.13';
  if (minor >= 25) return 'go1.20.14';
  if (minor >= 23) return 'go1.19.13';
  if (minor >= 20) return 'go1.15.15';
  if (minor >= 10) return 'go1.9.3';
  return 'go1.7.6';
}

/** GET /version. */
export function versionInfo(p: ClusterProfile): VersionInfo {
  const m = /^v(\d+)\.(\d+)/.exec(p.release);
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? String(p.minor),
    gitVersion: emulatedGitVersion(p),
    // Stable fake commit per release: 40 hex digits.
    gitCommit: createHash('sha1').update(p.release).digest('hex'),
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: goVersionOf(p.minor),
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** GET /api. */
export function apiVersions(p: ClusterProfile, serverAddress = '127.0.0.1:6443') {
  void p;
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

const gvEntry = (group: string, version: string) => ({ groupVersion: `${group}/${version}`, version });

function apiGroupBody(g: { group: string; versions: string[] }) {
  return { name: g.group, versions: g.versions.map((v) => gvEntry(g.group, v)), preferredVersion: gvEntry(g.group, g.versions[0]!) };
}

/** GET /apis. */
export function apiGroupList(p: ClusterProfile) {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groupsOf(resourcesFor(p)).map(apiGroupBody) };
}

/** GET /apis/<group>; undefined for a group the profile does not serve (404). */
export function apiGroup(p: ClusterProfile, group: string) {
  const g = groupsOf(resourcesFor(p)).find((x) => x.group === group);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroupBody(g) } : undefined;
}

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  storageVersionHash?: string;
}

/** apiserver's storageversion.ComputeHash: base64 of the first 8 bytes of sha256("<group>/<version>/<kind>"). */
export function storageVersionHash(group: string, version: string, kind: string): string {
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64');
}

interface Sub {
  name: string;
  kind: string;
  verbs: string[];
  group?: string;
  version?: string;
}

/** What a subresource answers with and which verbs it takes, as the real registries declare them. */
function subresourceOf(p: ClusterProfile, r: ResourceType, sub: string): Sub {
  const rw = ['get', 'patch', 'update'];
  switch (sub) {
    case 'scale':
      // apps/v1 uses autoscaling/v1 Scale; the beta apps versions had their own Scale type.
      return r.version === 'v1' || r.group !== 'apps' ? { name: sub, kind: 'Scale', verbs: rw, group: 'autoscaling', version: 'v1' } : { name: sub, kind: 'Scale', verbs: rw, group: 'apps', version: r.version };
    case 'exec':
      return { name: sub, kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'attach':
      return { name: sub, kind: 'PodAttachOptions', verbs: ['create', 'get'] };
    case 'log':
      return { name: sub, kind: 'Pod', verbs: ['get'] };
    case 'binding':
      return { name: sub, kind: 'Binding', verbs: ['create'] };
    case 'finalize':
      return { name: sub, kind: r.kind, verbs: ['update'] };
    case 'eviction':
      return { name: sub, kind: 'Eviction', verbs: ['create'], group: 'policy', version: p.minor >= 22 ? 'v1' : 'v1beta1' };
    default:
      return { name: sub, kind: r.kind, verbs: rw };
  }
}

/** GET /api/v1 or /apis/<group>/<version>; undefined when the profile does not serve that group version. */
export function apiResourceList(p: ClusterProfile, group: string, version: string) {
  const rs = resourcesFor(p).filter((r) => r.group === group && r.version === version);
  if (!rs.length) return undefined;
  const out: APIResource[] = [];
  // singularName is filled in for resources from 1.27 on; subresources always carry "".
  const singular = (r: ResourceType) => (p.minor >= 27 ? r.singular : '');
  for (const r of rs) {
    out.push({
      name: r.plural,
      singularName: singular(r),
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...r.verbs],
      ...(r.shortNames ? { shortNames: [...r.shortNames] } : {}),
      ...(r.categories ? { categories: [...r.categories] } : {}),
      // storageVersionHash appeared in 1.14.
      ...(p.minor >= 14 ? { storageVersionHash: storageVersionHash(r.group, 'v1', r.kind) } : {}),
    });
    for (const s of r.subresources) {
      const sub = subresourceOf(p, r, s);
      out.push({ name: `${r.plural}/${s}`, singularName: '', namespaced: r.namespaced, ...(sub.group !== undefined ? { group: sub.group, version: sub.version } : {}), kind: sub.kind, verbs: sub.verbs });
    }
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const gv = apiVersionOf({ group, version });
  return group ? { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources: out } : { kind: 'APIResourceList', groupVersion: gv, resources: out };
}

// ---------------------------------------------------------------------------------------------------------------
// Aggregated discovery

const AGG_GROUP = 'apidiscovery.k8s.io';

/** Aggregated-discovery versions the profile's server speaks, preferred first. */
function aggregatedVersions(p: ClusterProfile): string[] {
  if (!p.aggregatedDiscovery) return [];
  return p.minor >= 30 ? ['v2', 'v2beta1'] : ['v2beta1'];
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(accept: string | undefined): MediaRange[] {
  if (!accept) return [];
  return accept.split(',').map((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    return { type: (type ?? '').toLowerCase(), params: Object.fromEntries(params.map((x) => x.split('=').map((s) => s.trim()) as [string, string])) };
  });
}

/** The aggregated discovery version the client asked for and the server has, if any. */
export function negotiateAggregated(p: ClusterProfile, accept: string | undefined): string | undefined {
  const have = aggregatedVersions(p);
  for (const m of parseAccept(accept)) {
    if (m.type !== 'application/json') continue;
    if (m.params.g === AGG_GROUP && m.params.as === 'APIGroupDiscoveryList' && m.params.v && have.includes(m.params.v)) return m.params.v;
  }
  return undefined;
}

function discoveryResources(p: ClusterProfile, rs: ResourceType[]) {
  return rs.map((r) => {
    const subs = r.subresources.map((s) => subresourceOf(p, r, s));
    return {
      resource: r.plural,
      responseKind: { group: '', version: '', kind: r.kind },
      scope: r.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: r.singular,
      verbs: [...r.verbs],
      ...(r.shortNames ? { shortNames: [...r.shortNames] } : {}),
      ...(r.categories ? { categories: [...r.categories] } : {}),
      ...(subs.length
        ? {
            subresources: subs.map((s) => ({
              subresource: s.name,
              responseKind: { group: s.group ?? '', version: s.version ?? '', kind: s.kind },
              verbs: s.verbs,
            })),
          }
        : {}),
    };
  });
}

function aggregatedBody(p: ClusterProfile, version: string, legacy: boolean) {
  const resources = resourcesFor(p);
  const byVersion = (group: string, versions: string[]) =>
    versions.map((v) => ({
      version: v,
      resources: discoveryResources(
        p,
        resources.filter((r) => r.group === group && r.version === v).sort((a, b) => (a.plural < b.plural ? -1 : 1)),
      ),
      freshness: 'Current',
    }));
  const items = legacy
    ? [{ metadata: { creationTimestamp: null }, versions: byVersion('', ['v1']) }]
    : groupsOf(resources).map((g) => ({ metadata: { name: g.group, creationTimestamp: null }, versions: byVersion(g.group, g.versions) }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `${AGG_GROUP}/${version}`, metadata: {}, items };
}

/**
 * GET /api (legacy=true) or /apis: the aggregated APIGroupDiscoveryList when the profile serves aggregated discovery
 * and the Accept header asks for it, the plain APIVersions/APIGroupList otherwise. Content-Type is what client-go
 * switches its decoding on.
 */
export function rootDiscovery(p: ClusterProfile, legacy: boolean, accept: string | undefined, serverAddress?: string): { contentType: string; body: unknown } {
  const v = negotiateAggregated(p, accept);
  if (v) return { contentType: `application/json;g=${AGG_GROUP};v=${v};as=APIGroupDiscoveryList`, body: aggregatedBody(p, v, legacy) };
  return { contentType: 'application/json', body: legacy ? apiVersions(p, serverAddress) : apiGroupList(p) };
}
