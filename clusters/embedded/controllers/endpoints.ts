/**
 * The endpoints controller: for each Service with a selector, one Endpoints object of the same name whose subset
 * lists ready pod IPs in `addresses` and the rest in `notReadyAddresses` (all in `addresses` with
 * publishNotReadyAddresses), each with hostname (pod spec.hostname when spec.subdomain is the service's name),
 * nodeName and targetRef, and the service's ports (targetPort resolved by number or container port name).
 * Services without a selector keep hand-made Endpoints; pods without an IP are left out.
 */
import type { KObject } from '../apiserver/store.js';
import { ApiError } from '../apiserver/status.js';
import { isDeepStrictEqual } from 'node:util';
import { objectKey, splitKey, WorkQueue, informer, type Controller, type ControllerContext } from './framework.js';

type Obj = Record<string, unknown>;
const obj = (x: unknown): Obj => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Obj) : {});
const arr = (x: unknown): Obj[] => (Array.isArray(x) ? (x as Obj[]) : []);

const podReady = (p: KObject) => arr(obj(p.status).conditions).some((c) => c.type === 'Ready' && c.status === 'True');

/** The subsets for `svc` over `pods` (pods already in the namespace). */
export function endpointSubsets(svc: KObject, pods: KObject[]): Obj[] {
  const spec = obj(svc.spec);
  const selector = obj(spec.selector) as Record<string, string>;
  const ports = arr(spec.ports);
  const addresses: Obj[] = [];
  const notReady: Obj[] = [];
  const resolvedPorts: Obj[] = [];
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) continue;
    if (pod.metadata.deletionTimestamp && !spec.publishNotReadyAddresses) continue;
    const ip = obj(pod.status).podIP as string | undefined;
    const phase = obj(pod.status).phase;
    if (!ip || phase === 'Succeeded' || phase === 'Failed') continue;
    const ps = obj(pod.spec);
    const addr: Obj = { ip };
    if (ps.hostname && ps.subdomain === svc.metadata.name) addr.hostname = ps.hostname;
    if (ps.nodeName) addr.nodeName = ps.nodeName;
    addr.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid, ...(pod.metadata.resourceVersion ? { resourceVersion: pod.metadata.resourceVersion } : {}) };
    if (podReady(pod) || spec.publishNotReadyAddresses) addresses.push(addr);
    else notReady.push(addr);
    if (!resolvedPorts.length) {
      for (const sp of ports) {
        let port = sp.targetPort ?? sp.port;
        if (typeof port === 'string') {
          const named = arr(ps.containers)
            .flatMap((c) => arr(c.ports))
            .find((cp) => cp.name === port);
          port = named?.containerPort ?? port;
        }
        resolvedPorts.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP' });
      }
    }
  }
  if (!addresses.length && !notReady.length) return [];
  const byIp = (a: Obj, b: Obj) => String(a.ip).localeCompare(String(b.ip));
  return [{ ...(addresses.length ? { addresses: addresses.sort(byIp) } : {}), ...(notReady.length ? { notReadyAddresses: notReady.sort(byIp) } : {}), ports: resolvedPorts }];
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
        for (const s of ctx.store.list('core/services', ev.object.metadata.namespace).items) if (obj(s.spec).selector) this.queue!.add(objectKey(s));
      }),
    );
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    this.queue?.stop();
  }

  idle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  private sync(key: string): void {
    const { store } = this.ctx;
    const { namespace, name } = splitKey(key);
    const svc = store.get('core/services', namespace, name);
    if (!svc) {
      // The Endpoints of a deleted service go with it.
      try {
        if (store.get('core/endpoints', namespace, name)) store.delete('core/endpoints', namespace, name);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
      }
      return;
    }
    if (!obj(svc.spec).selector) return;
    const subsets = endpointSubsets(svc, store.list('core/pods', namespace).items);
    const cur = store.get('core/endpoints', namespace, name);
    if (!cur) {
      try {
        store.create('core/endpoints', { metadata: { name, namespace, labels: { ...(svc.metadata.labels ?? {}) } }, ...(subsets.length ? { subsets } : {}) }, { namespace });
      } catch (err) {
        if (!(err instanceof ApiError && (err.code === 409 || err.code === 403))) throw err;
      }
      return;
    }
    store.mutate('core/endpoints', namespace, name, (o) => {
      if (isDeepStrictEqual(o.subsets ?? [], subsets)) return false;
      if (subsets.length) o.subsets = subsets;
      else delete o.subsets;
    });
  }
}
