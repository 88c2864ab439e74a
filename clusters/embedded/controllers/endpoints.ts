/**
 * The endpoints controller (pkg/controller/endpoint): for each Service with a selector, one Endpoints object of the
 * same name, labelled like the service. Every matching pod with an IP contributes an address (ready pods in
 * `addresses`, the rest in `notReadyAddresses`, all in `addresses` when the service tolerates unready endpoints),
 * with hostname (pod spec.hostname when spec.subdomain is the service's name), nodeName and targetRef. Ports are
 * resolved per pod (targetPort by number, or by container port name and protocol; a pod without the named port is
 * left out for that port) and the result is repacked as upstream's RepackSubsets does: one subset per distinct set
 * of addresses. Services without a selector keep hand-made Endpoints; Endpoints whose service is gone are deleted,
 * and deleted Endpoints of a selector service are recreated.
 *
 * Per version (no profile flag exists for these; `profile.minor` until one does):
 * - `publishNotReadyAddresses` from 1.9; the `service.alpha.kubernetes.io/tolerate-unready-endpoints` annotation
 *   overrides it until its removal in 1.24 (#108020);
 * - terminal (Succeeded/Failed) pods: before 1.8 every unready pod is listed as not ready; 1.8-1.24 only those
 *   whose restartPolicy can still restart them (#47504), tolerated ones stay in `addresses`; from 1.25 terminal
 *   pods are never published (#110255);
 * - headless services without ports: no addresses before 1.8, an invalid port 0 that the apiserver refuses in
 *   1.8-1.11 (#55158: no Endpoints written), addresses without ports from 1.12 (#67622);
 * - targetRef.resourceVersion until 1.24 (#108450); from 1.8 a pod change that touches only it is no update (#50934);
 * - label `service.kubernetes.io/headless` for services without a cluster IP from 1.17;
 * - ExternalName services get no Endpoints from 1.27 (#114814);
 * - EndpointPort.appProtocol copied from 1.19 (ServiceAppProtocol beta).
 * Not emulated: the last-change-trigger-time and over-capacity annotations.
 */
import type { KObject } from '../apiserver/store.js';
import { ApiError } from '../apiserver/status.js';
import type { ClusterProfile } from '../profiles.js';
import { isDeepStrictEqual } from 'node:util';
import { objectKey, splitKey, WorkQueue, informer, type Controller, type ControllerContext } from './framework.js';

type Obj = Record<string, unknown>;
const obj = (x: unknown): Obj => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Obj) : {});
const arr = (x: unknown): Obj[] => (Array.isArray(x) ? (x as Obj[]) : []);

export const TOLERATE_UNREADY_ANNOTATION = 'service.alpha.kubernetes.io/tolerate-unready-endpoints';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

const podReady = (p: KObject) => arr(obj(p.status).conditions).some((c) => c.type === 'Ready' && c.status === 'True');

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return undefined;
}

/** Whether unready (and terminating) pods are published as ready addresses. */
export function toleratesUnready(svc: KObject, profile: ClusterProfile): boolean {
  let tolerate = profile.minor >= 9 && obj(svc.spec).publishNotReadyAddresses === true;
  const ann = svc.metadata.annotations?.[TOLERATE_UNREADY_ANNOTATION];
  if (profile.minor < 24 && ann !== undefined) tolerate = parseBool(ann) ?? tolerate;
  return tolerate;
}

/** The pre-1.25 shouldPodBeInEndpoints: whether an unready pod may still come back. */
function mayRestart(pod: KObject): boolean {
  const phase = obj(pod.status).phase;
  switch (obj(pod.spec).restartPolicy) {
    case 'Never':
      return phase !== 'Failed' && phase !== 'Succeeded';
    case 'OnFailure':
      return phase !== 'Succeeded';
    default:
      return true;
  }
}

/** podutil.FindPort: the container port a service port targets on this pod, or undefined. */
function findPort(pod: KObject, sp: Obj): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const protocol = sp.protocol ?? 'TCP';
  for (const c of arr(obj(pod.spec).containers))
    for (const cp of arr(c.ports)) if (cp.name === target && (cp.protocol ?? 'TCP') === protocol && typeof cp.containerPort === 'number') return cp.containerPort;
  return undefined;
}

const hasSelector = (svc: KObject) => Object.keys(obj(obj(svc.spec).selector)).length > 0;

const byIpAndUid = (a: Obj, b: Obj) => {
  const ia = String(a.ip);
  const ib = String(b.ip);
  if (ia !== ib) return ia < ib ? -1 : 1;
  const ua = String(obj(a.targetRef).uid ?? '');
  const ub = String(obj(b.targetRef).uid ?? '');
  return ua < ub ? -1 : ua > ub ? 1 : 0;
};

/** The subsets for `svc` over `pods` (pods already in the namespace), in the repacked canonical layout. */
export function endpointSubsets(svc: KObject, pods: KObject[], profile: ClusterProfile): Obj[] {
  const spec = obj(svc.spec);
  const selector = obj(spec.selector) as Record<string, string>;
  const ports = arr(spec.ports);
  const tolerate = toleratesUnready(svc, profile);
  // port signature -> the port and its addresses (address key -> address, ready); insertion order is kept.
  const byPort = new Map<string, { port: Obj | undefined; addrs: Map<string, { addr: Obj; ready: boolean }> }>();
  const add = (port: Obj | undefined, addr: Obj, ready: boolean) => {
    const pk = JSON.stringify(port ?? null);
    let e = byPort.get(pk);
    if (!e) byPort.set(pk, (e = { port, addrs: new Map() }));
    const ak = `${String(addr.ip)}/${String(obj(addr.targetRef).uid ?? '')}`;
    const prev = e.addrs.get(ak);
    // Not ready trumps ready, as in RepackSubsets.
    e.addrs.set(ak, { addr, ready: prev ? prev.ready && ready : ready });
  };
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    if (!Object.keys(selector).length || !Object.entries(selector).every(([k, v]) => labels[k] === v)) continue;
    const status = obj(pod.status);
    const ip = status.podIP as string | undefined;
    if (!ip) continue;
    const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
    if (profile.minor >= 25 && terminal) continue;
    if (pod.metadata.deletionTimestamp && !tolerate) continue;
    const ready = tolerate || podReady(pod);
    if (!ready && profile.minor >= 8 && profile.minor < 25 && !mayRestart(pod)) continue;
    const ps = obj(pod.spec);
    const addr: Obj = { ip };
    if (ps.hostname && ps.subdomain === svc.metadata.name) addr.hostname = ps.hostname;
    if (ps.nodeName) addr.nodeName = ps.nodeName;
    addr.targetRef = {
      kind: 'Pod',
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
      ...(profile.minor < 24 && pod.metadata.resourceVersion ? { resourceVersion: pod.metadata.resourceVersion } : {}),
    };
    if (!ports.length) {
      // Headless services may have no ports.
      if (spec.clusterIP !== 'None' || profile.minor < 8) continue;
      add(profile.minor < 12 ? { port: 0, protocol: 'TCP' } : undefined, addr, ready);
      continue;
    }
    for (const sp of ports) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      add({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP', ...(profile.minor >= 19 && sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) }, addr, ready);
    }
  }
  // Ports offered by exactly the same addresses (with the same readiness) share a subset.
  const groups = new Map<string, { ports: Obj[]; addrs: { addr: Obj; ready: boolean }[] }>();
  for (const { port, addrs } of byPort.values()) {
    const list = [...addrs.values()].sort((a, b) => byIpAndUid(a.addr, b.addr));
    const key = JSON.stringify(list.map((a) => [a.addr, a.ready]));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: [], addrs: list }));
    if (port) g.ports.push(port);
  }
  return [...groups.values()]
    .map((g) => {
      const ready = g.addrs.filter((a) => a.ready).map((a) => a.addr);
      const notReady = g.addrs.filter((a) => !a.ready).map((a) => a.addr);
      return { ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ...(g.ports.length ? { ports: g.ports } : {}) };
    })
    .sort((a, b) => byIpAndUid(obj(arr(a.addresses ?? a.notReadyAddresses)[0]), obj(arr(b.addresses ?? b.notReadyAddresses)[0])));
}

/** The labels the Endpoints of `svc` carry. */
export function endpointLabels(svc: KObject, profile: ClusterProfile): Record<string, string> {
  const clusterIP = obj(svc.spec).clusterIP;
  const headless = !clusterIP || clusterIP === 'None';
  return { ...(svc.metadata.labels ?? {}), ...(profile.minor >= 17 && headless ? { [HEADLESS_LABEL]: '' } : {}) };
}

/** Subsets as compared for "is this an update" (pod resourceVersions do not count from 1.8). */
function comparable(subsets: unknown, profile: ClusterProfile): unknown {
  if (profile.minor < 8) return subsets ?? [];
  return JSON.parse(JSON.stringify(subsets ?? []), (k, v: unknown) => (k === 'resourceVersion' ? undefined : v));
}

export class EndpointsController implements Controller {
  readonly name = 'endpoint';
  private queue: WorkQueue | undefined;
  private stops: (() => void)[] = [];
  private ctx!: ControllerContext;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.queue = new WorkQueue((k) => this.sync(k), (k, err) => ctx.log('endpoints sync failed', { key: k, err: String(err) }));
    this.stops.push(
      informer(ctx.store, 'core/services', (ev) => this.queue!.add(objectKey(ev.object))),
      informer(ctx.store, 'core/pods', (ev) => {
        for (const s of ctx.store.list('core/services', ev.object.metadata.namespace).items) if (hasSelector(s)) this.queue!.add(objectKey(s));
      }),
      // Deleted Endpoints of a selector service come back.
      informer(ctx.store, 'core/endpoints', (ev) => ev.type === 'DELETED' && this.queue!.add(objectKey(ev.object))),
    );
    // checkLeftoverEndpoints: Endpoints whose service is gone (while no controller ran) are deleted once at start.
    for (const ep of ctx.store.list('core/endpoints').items) if (!ep.metadata.annotations?.[LEADER_ANNOTATION]) this.queue.add(objectKey(ep));
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    this.queue?.stop();
  }

  idle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  private sync(key: string): void {
    const { store, profile } = this.ctx;
    const { namespace, name } = splitKey(key);
    const svc = store.get('core/services', namespace, name);
    if (!svc) {
      // The Endpoints of a deleted service go with it.
      try {
        if (store.get('core/endpoints', namespace, name)) store.delete('core/endpoints', namespace, name);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
      return;
    }
    if (profile.minor >= 27 && obj(svc.spec).type === 'ExternalName') return;
    if (!hasSelector(svc)) return;
    const subsets = endpointSubsets(svc, store.list('core/pods', namespace).items, profile);
    if (subsets.some((s) => arr(s.ports).some((p) => p.port === 0))) {
      // 1.8-1.11: the port-0 subset of a headless service without ports fails Endpoints validation (#55158).
      this.ctx.log('endpoints invalid', { key, err: 'subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive' });
      return;
    }
    const labels = endpointLabels(svc, profile);
    const cur = store.get('core/endpoints', namespace, name);
    if (!cur) {
      try {
        store.create('core/endpoints', { metadata: { name, namespace, ...(Object.keys(labels).length ? { labels } : {}) }, ...(subsets.length ? { subsets } : {}) }, { namespace });
      } catch (err) {
        // 403: the namespace is terminating and refuses new content; 409: someone made them meanwhile (next event).
        if (!(err instanceof ApiError && (err.code === 409 || err.code === 403))) throw err;
      }
      return;
    }
    store.mutate('core/endpoints', namespace, name, (o) => {
      if (isDeepStrictEqual(comparable(o.subsets, profile), comparable(subsets, profile)) && isDeepStrictEqual(o.metadata.labels ?? {}, labels)) return false;
      if (subsets.length) o.subsets = subsets;
      else delete o.subsets;
      if (Object.keys(labels).length) o.metadata.labels = labels;
      else delete o.metadata.labels;
    });
  }
}
