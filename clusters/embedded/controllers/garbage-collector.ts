/**
 * The garbage collector (pkg/controller/garbagecollector), level-triggered over the whole store: every change
 * schedules one pass (deduplicated). Each owner reference of a dependent is classified as upstream's
 * classifyReferences does: dangling (no object with that uid, or a namespaced owner of a dependent in another
 * namespace or of a cluster-scoped one), waiting for dependents deletion (owner being deleted with
 * `foregroundDeletion`), or solid (anything else, including an owner being orphaned). Then
 * - orphans: an owner carrying the `orphan` finalizer is stripped from its dependents' ownerReferences, then the
 *   finalizer is dropped;
 * - a dependent with a solid owner keeps living and loses its dangling and waiting references;
 * - a dependent without one is deleted: Foreground when a waiting owner exists and it has dependents itself
 *   (so the chain stays blocked), otherwise Background (attemptToDeleteItem);
 * - foreground: an owner drops `foregroundDeletion` once no dependent still references it with
 *   blockOwnerDeletion (processDeletingDependentsItem).
 * Works across every resource type, namespaced and cluster scope.
 */
import type { KObject, OwnerReference } from '../apiserver/store.js';
import { ApiError } from '../apiserver/status.js';
import { WorkQueue, informer, type Controller, type ControllerContext } from './framework.js';

const PASS = 'pass';

interface Item {
  key: string;
  object: KObject;
}

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  private queue: WorkQueue | undefined;
  private stops: (() => void)[] = [];
  private ctx!: ControllerContext;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.queue = new WorkQueue(() => this.pass(), (_k, err) => ctx.log('garbage collector pass failed', { err: String(err) }));
    for (const key of ctx.store.keys()) {
      if (key === 'core/events') continue;
      this.stops.push(
        informer(ctx.store, key, (ev) => {
          const m = ev.object.metadata;
          // Only owners and dependents matter: deletions, objects with ownerReferences, and GC finalizers.
          if (ev.type === 'DELETED' || m.ownerReferences?.length || m.finalizers?.some((f) => f === 'orphan' || f === 'foregroundDeletion')) this.queue!.add(PASS);
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

  /** One pass over the current state. */
  pass(): void {
    const { store } = this.ctx;
    const items: Item[] = [...store.all()].filter((i) => i.key !== 'core/events');
    const byUid = new Map<string, Item>();
    for (const i of items) if (i.object.metadata.uid) byUid.set(i.object.metadata.uid, i);
    const hasDependents = (uid: string) => items.some((i) => i.object.metadata.ownerReferences?.some((r) => r.uid === uid));
    const waiting = (o: KObject) => !!o.metadata.deletionTimestamp && !!o.metadata.finalizers?.includes('foregroundDeletion');

    // Orphan first: the orphaning owner is solid for its dependents until its references are gone.
    for (const owner of items) {
      const m = owner.object.metadata;
      if (!m.deletionTimestamp || !m.finalizers?.includes('orphan')) continue;
      for (const d of items) if (d.object.metadata.ownerReferences?.some((r) => r.uid === m.uid)) this.stripOwners(d, (r) => r.uid === m.uid);
      this.dropFinalizer(owner, 'orphan');
    }

    for (const d of items) {
      const refs = d.object.metadata.ownerReferences ?? [];
      if (!refs.length) continue;
      const dangling = (r: OwnerReference) => {
        const o = byUid.get(r.uid);
        // Same uid, and a namespaced owner must be in the dependent's namespace (never owns a cluster-scoped one).
        return !o || (o.object.metadata.namespace !== undefined && o.object.metadata.namespace !== d.object.metadata.namespace);
      };
      const isWaiting = (r: OwnerReference) => !dangling(r) && waiting(byUid.get(r.uid)!.object);
      const solid = refs.filter((r) => !dangling(r) && !isWaiting(r));
      if (solid.length) {
        if (solid.length < refs.length) this.stripOwners(d, (r) => dangling(r) || isWaiting(r));
      } else if (!d.object.metadata.deletionTimestamp) {
        this.deleteQuietly(d, refs.some(isWaiting) && hasDependents(d.object.metadata.uid!) ? 'Foreground' : 'Background');
      }
    }

    let again = false;
    for (const owner of items) {
      const m = owner.object.metadata;
      if (!waiting(owner.object)) continue;
      // Read the dependents again: the deletions above may already have removed them.
      const blocking = items.some((d) => {
        if (!d.object.metadata.ownerReferences?.some((r) => r.uid === m.uid)) return false;
        const cur = store.get(d.key, d.object.metadata.namespace, d.object.metadata.name!);
        return !!cur && cur.metadata.uid === d.object.metadata.uid && !!cur.metadata.ownerReferences?.some((r) => r.uid === m.uid && r.blockOwnerDeletion);
      });
      if (!blocking) this.dropFinalizer(owner, 'foregroundDeletion');
      else again = true;
    }
    // Foreground owners wait for dependents that kubelets or finalizers hold: look again shortly.
    if (again) this.queue!.requeueAfter(PASS, 500);
  }

  private stripOwners(d: Item, drop: (r: OwnerReference) => boolean): void {
    this.ctx.store.mutate(d.key, d.object.metadata.namespace, d.object.metadata.name!, (o) => {
      if (o.metadata.uid !== d.object.metadata.uid) return false;
      const refs = o.metadata.ownerReferences ?? [];
      const keep = refs.filter((r) => !drop(r));
      if (keep.length === refs.length) return false;
      if (keep.length) o.metadata.ownerReferences = keep;
      else delete o.metadata.ownerReferences;
    });
  }

  private dropFinalizer(i: Item, f: string): void {
    this.ctx.store.mutate(i.key, i.object.metadata.namespace, i.object.metadata.name!, (o) => {
      if (o.metadata.uid !== i.object.metadata.uid || !o.metadata.finalizers?.includes(f)) return false;
      o.metadata.finalizers = o.metadata.finalizers.filter((x) => x !== f);
    });
  }

  private deleteQuietly(i: Item, policy: 'Background' | 'Foreground'): void {
    try {
      this.ctx.store.delete(i.key, i.object.metadata.namespace, i.object.metadata.name!, { propagationPolicy: policy, preconditions: { uid: i.object.metadata.uid } });
    } catch (err) {
      // Already gone or replaced by a new object of the same name: nothing to collect.
      if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
    }
  }
}
