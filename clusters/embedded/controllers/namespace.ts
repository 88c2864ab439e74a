/**
 * Namespaces: the bootstrap set (`default`, `kube-system`, `kube-public`, `kube-node-lease` from 1.14), the namespace
 * controller that empties a Terminating namespace and then finalizes it (spec.finalizers `kubernetes` removed through
 * the finalize subresource, after which the store drops it), and the root-ca publisher's `kube-root-ca.crt`
 * ConfigMap in every namespace (1.20+, when a CA is given).
 */
import type { KObject, Store } from '../apiserver/store.js';
import { ApiError } from '../apiserver/status.js';
import type { ClusterProfile } from '../profiles.js';
import { WorkQueue, informer, type Controller, type ControllerContext } from './framework.js';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

/** The namespaces a fresh cluster has. */
export function bootstrapNamespaces(profile: ClusterProfile): string[] {
  return ['default', 'kube-system', 'kube-public', ...(profile.minor >= 14 ? ['kube-node-lease'] : [])];
}

/** Create the bootstrap namespaces that are missing (idempotent). */
export function bootstrap(store: Store, profile: ClusterProfile): void {
  for (const name of bootstrapNamespaces(profile)) {
    if (store.get('core/namespaces', undefined, name)) continue;
    store.create('core/namespaces', { metadata: { name, ...(profile.minor >= 21 ? { labels: { 'kubernetes.io/metadata.name': name } } : {}) } });
  }
}

const spec = (ns: KObject) => (ns.spec ?? {}) as { finalizers?: string[] };

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private queue: WorkQueue | undefined;
  private stops: (() => void)[] = [];
  private ctx!: ControllerContext;

  constructor(private readonly opts: { caPem?: string; retryMs?: number } = {}) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.queue = new WorkQueue((k) => this.sync(k), (k, err) => ctx.log('namespace sync failed', { key: k, err: String(err) }));
    this.stops.push(informer(ctx.store, 'core/namespaces', (ev) => ev.type !== 'DELETED' && this.queue!.add(ev.object.metadata.name!)));
    // Content disappearing lets a Terminating namespace move on; a deleted kube-root-ca.crt is recreated.
    for (const key of ctx.store.keys()) {
      if (!ctx.store.type(key).namespaced || key === 'core/events') continue;
      this.stops.push(
        informer(ctx.store, key, (ev) => {
          if (ev.type !== 'DELETED' && !(key === 'core/configmaps' && ev.object.metadata.name === ROOT_CA_CONFIGMAP)) return;
          if (ev.object.metadata.namespace) this.queue!.add(ev.object.metadata.namespace);
        }),
      );
    }
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    this.queue?.stop();
  }

  idle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  private sync(name: string): void {
    const { store, profile } = this.ctx;
    const ns = store.get('core/namespaces', undefined, name);
    if (!ns) return;
    if (!ns.metadata.deletionTimestamp) {
      if (this.opts.caPem && profile.minor >= 20) this.publishRootCA(name);
      return;
    }
    if (!(spec(ns).finalizers ?? []).includes('kubernetes')) return;
    let remaining = 0;
    for (const key of store.keys()) {
      const t = store.type(key);
      if (!t.namespaced) continue;
      for (const o of store.list(key, name).items) {
        remaining++;
        if (o.metadata.deletionTimestamp) continue;
        try {
          store.delete(key, name, o.metadata.name!, { preconditions: { uid: o.metadata.uid } });
        } catch (err) {
          if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
        }
      }
    }
    // Count again: most objects go at once; pods wait for their kubelet, finalizers for their controllers.
    remaining = store.keys().reduce((n, key) => n + (store.type(key).namespaced ? store.list(key, name).items.length : 0), 0);
    if (remaining) {
      this.queue!.requeueAfter(name, this.opts.retryMs ?? 1000);
      return;
    }
    const cur = store.get('core/namespaces', undefined, name);
    if (!cur) return;
    cur.spec = { ...spec(cur), finalizers: (spec(cur).finalizers ?? []).filter((f) => f !== 'kubernetes') };
    store.update('core/namespaces', cur, { sub: 'finalize' });
  }

  private publishRootCA(ns: string): void {
    const { store, profile } = this.ctx;
    const data = { 'ca.crt': this.opts.caPem! };
    const annotations = profile.minor >= 24 ? { 'kubernetes.io/description': ROOT_CA_DESCRIPTION } : undefined;
    const cur = store.get('core/configmaps', ns, ROOT_CA_CONFIGMAP);
    if (!cur) {
      try {
        store.create('core/configmaps', { metadata: { name: ROOT_CA_CONFIGMAP, namespace: ns, ...(annotations ? { annotations } : {}) }, data }, { namespace: ns });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
      }
      return;
    }
    store.mutate('core/configmaps', ns, ROOT_CA_CONFIGMAP, (o) => {
      if (JSON.stringify(o.data) === JSON.stringify(data)) return false;
      o.data = data;
    });
  }
}
