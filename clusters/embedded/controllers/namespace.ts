/**
 * Namespaces: the bootstrap set (`default`, `kube-system`, `kube-public`, `kube-node-lease` from 1.14), the namespace
 * controller that empties a Terminating namespace and then finalizes it (spec.finalizers `kubernetes` removed through
 * the finalize subresource, after which the store drops it), and the root-ca publisher's `kube-root-ca.crt`
 * ConfigMap in every namespace (1.20+, when a CA is given).
 *
 * Per version (no profile flags yet; `profile.minor` until they exist): the deletion status conditions
 * (NamespaceDeletionDiscoveryFailure ... NamespaceFinalizersRemaining, pkg/controller/namespace/deletion
 * status_condition_utils.go) are written from 1.17 (#73405, #82189); OrderedNamespaceDeletion (KEP-5080, on by
 * default from 1.33) deletes pods first and leaves other content until every pod is gone; the root CA ConfigMap's
 * `kubernetes.io/description` annotation from 1.22 (#100926).
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

interface Condition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** The conditions the namespace deleter maintains, with their "all is well" reason and message. */
const CONDITIONS: [type: string, okReason: string, okMessage: string][] = [
  ['NamespaceDeletionDiscoveryFailure', 'ResourcesDiscovered', 'All resources successfully discovered'],
  ['NamespaceDeletionGroupVersionParsingFailure', 'ParsedGroupVersions', 'All legacy kube types successfully parsed'],
  ['NamespaceDeletionContentFailure', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization'],
  ['NamespaceContentRemaining', 'ContentRemoved', 'All content successfully removed'],
  ['NamespaceFinalizersRemaining', 'ContentHasNoFinalizers', 'All content-preserving finalizers finished'],
];

/** What one deletion pass left behind: remaining objects per resource, per finalizer, and delete errors. */
interface Remaining {
  byResource: Map<string, number>;
  byFinalizer: Map<string, number>;
  errors: string[];
}

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
    // Content disappearing lets a Terminating namespace move on; a changed or deleted kube-root-ca.crt is restored.
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
    // Finalized (spec.finalizers empty): only metadata.finalizers can still hold it; nothing for this controller.
    if (!(spec(ns).finalizers ?? []).length) return;
    const deletedAt = Date.parse(ns.metadata.deletionTimestamp);
    const keys = store.keys().filter((k) => store.type(k).namespaced);
    // OrderedNamespaceDeletion: pods go first; nothing else is touched while any pod remains.
    if (profile.minor >= 33) {
      const pods = this.deleteContent(name, ['core/pods'], deletedAt);
      if (pods.byResource.size) {
        // Upstream's early return updates the conditions without the remaining totals (kubernetes #138208).
        this.updateConditions(name, { byResource: new Map(), byFinalizer: new Map(), errors: pods.errors });
        this.queue!.requeueAfter(name, this.opts.retryMs ?? 1000);
        return;
      }
    }
    const left = this.deleteContent(name, keys, deletedAt);
    this.updateConditions(name, left);
    // Pods wait for their kubelet, finalizers for their controllers.
    if (left.byResource.size) {
      this.queue!.requeueAfter(name, this.opts.retryMs ?? 1000);
      return;
    }
    const cur = store.get('core/namespaces', undefined, name);
    if (!cur || !(spec(cur).finalizers ?? []).includes('kubernetes')) return;
    cur.spec = { ...spec(cur), finalizers: (spec(cur).finalizers ?? []).filter((f) => f !== 'kubernetes') };
    store.update('core/namespaces', cur, { sub: 'finalize' });
  }

  /** Delete everything of `keys` in the namespace (background propagation, as the deleter does); report what is left. */
  private deleteContent(name: string, keys: string[], deletedAt: number): Remaining {
    const { store } = this.ctx;
    const left: Remaining = { byResource: new Map(), byFinalizer: new Map(), errors: [] };
    for (const key of keys) {
      for (const o of store.list(key, name).items) {
        if (o.metadata.deletionTimestamp) continue;
        try {
          store.delete(key, name, o.metadata.name!, { preconditions: { uid: o.metadata.uid }, propagationPolicy: 'Background' });
        } catch (err) {
          if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
        }
      }
      const items = store.list(key, name).items;
      if (!items.length) continue;
      const t = store.type(key);
      left.byResource.set(`${t.plural}.${t.group}`, items.length);
      const finalizers = new Map<string, number>();
      for (const o of items) for (const f of o.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
      for (const [f, n] of finalizers) left.byFinalizer.set(f, (left.byFinalizer.get(f) ?? 0) + n);
      // estimateGracefulTermination: pods may take their grace period from the namespace's deletion; past that,
      // leftovers without finalizers are unexpected.
      const estimate =
        key === 'core/pods'
          ? Math.max(
              0,
              ...items
                .filter((p) => !['Succeeded', 'Failed'].includes(String((p.status as { phase?: string } | undefined)?.phase)))
                .map((p) => Number((p.spec as { terminationGracePeriodSeconds?: number } | undefined)?.terminationGracePeriodSeconds ?? 0)),
            )
          : 0;
      const withinEstimate = Date.parse(store.timestamp()) - deletedAt < estimate * 1000;
      if (!finalizers.size && !withinEstimate) left.errors.push(`unexpected items still remain in namespace: ${name} for gvr: ${t.group}/${t.version}, Resource=${t.plural}`);
    }
    return left;
  }

  /** The status conditions of a terminating namespace (1.17+); lastTransitionTime moves only when a status flips. */
  private updateConditions(name: string, left: Remaining): void {
    const { store, profile } = this.ctx;
    if (profile.minor < 17) return;
    const now = store.timestamp();
    const list = (m: Map<string, number>, fmt: (k: string, n: number) => string) => [...m].map(([k, n]) => fmt(k, n)).sort().join(', ');
    const failing = new Map<string, Pick<Condition, 'reason' | 'message'>>();
    if (left.errors.length)
      failing.set('NamespaceDeletionContentFailure', { reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${left.errors.length} remaining: ${[...left.errors].sort().join(', ')}` });
    if (left.byResource.size)
      failing.set('NamespaceContentRemaining', { reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${list(left.byResource, (r, n) => `${r} has ${n} resource instances`)}` });
    if (left.byFinalizer.size)
      failing.set('NamespaceFinalizersRemaining', {
        reason: 'SomeFinalizersRemain',
        message: `Some content in the namespace has finalizers remaining: ${list(left.byFinalizer, (f, n) => `${f} in ${n} resource instances`)}`,
      });
    store.mutate(
      'core/namespaces',
      undefined,
      name,
      (o) => {
        const status = (o.status ?? {}) as { conditions?: Condition[] };
        const conditions = [...(status.conditions ?? [])];
        let changed = false;
        for (const [type, okReason, okMessage] of CONDITIONS) {
          const f = failing.get(type);
          const want = { type, status: f ? ('True' as const) : ('False' as const), reason: f?.reason ?? okReason, message: f?.message ?? okMessage };
          const i = conditions.findIndex((c) => c.type === type);
          const old = conditions[i];
          if (!old) conditions.push({ ...want, lastTransitionTime: now });
          else if (old.status !== want.status || old.reason !== want.reason || old.message !== want.message)
            conditions[i] = { ...old, ...want, lastTransitionTime: old.status !== want.status ? now : old.lastTransitionTime };
          else continue;
          changed = true;
        }
        if (!changed) return false;
        o.status = { ...status, conditions };
      },
      'status',
    );
  }

  private publishRootCA(ns: string): void {
    const { store, profile } = this.ctx;
    const data = { 'ca.crt': this.opts.caPem! };
    const annotations = profile.minor >= 22 ? { 'kubernetes.io/description': ROOT_CA_DESCRIPTION } : undefined;
    const cur = store.get('core/configmaps', ns, ROOT_CA_CONFIGMAP);
    if (!cur) {
      try {
        store.create('core/configmaps', { metadata: { name: ROOT_CA_CONFIGMAP, namespace: ns, ...(annotations ? { annotations } : {}) }, data }, { namespace: ns });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
      }
      return;
    }
    // The data is restored; the description only has to be present (any text), as in the publisher.
    store.mutate('core/configmaps', ns, ROOT_CA_CONFIGMAP, (o) => {
      const described = !annotations || o.metadata.annotations?.['kubernetes.io/description'] !== undefined;
      if (JSON.stringify(o.data) === JSON.stringify(data) && described) return false;
      o.data = data;
      if (!described) o.metadata.annotations = { ...(o.metadata.annotations ?? {}), ...annotations };
    });
  }
}
