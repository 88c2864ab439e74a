/**
 * The serviceaccount controller: a `default` ServiceAccount in every active namespace, recreated when deleted.
 * While it runs, ServiceAccount admission enforces that a pod's service account exists (as on a real cluster, where
 * a pod created in the instant after its namespace can be refused).
 */
import { EmbeddedAdmission } from '../apiserver/admission.js';
import { ApiError } from '../apiserver/status.js';
import { WorkQueue, informer, type Controller, type ControllerContext } from './framework.js';

export class ServiceAccountsController implements Controller {
  readonly name = 'serviceaccount';
  private queue: WorkQueue | undefined;
  private stops: (() => void)[] = [];
  private ctx!: ControllerContext;
  private enforced = false;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.queue = new WorkQueue((k) => this.sync(k), (k, err) => ctx.log('serviceaccount sync failed', { key: k, err: String(err) }));
    this.stops.push(
      informer(ctx.store, 'core/namespaces', (ev) => ev.type !== 'DELETED' && this.queue!.add(ev.object.metadata.name!)),
      informer(ctx.store, 'core/serviceaccounts', (ev) => ev.type === 'DELETED' && ev.object.metadata.name === 'default' && this.queue!.add(ev.object.metadata.namespace!)),
    );
    if (ctx.store.admission instanceof EmbeddedAdmission && !ctx.store.admission.enforceServiceAccounts) {
      ctx.store.admission.enforceServiceAccounts = true;
      this.enforced = true;
    }
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    this.queue?.stop();
    if (this.enforced && this.ctx.store.admission instanceof EmbeddedAdmission) this.ctx.store.admission.enforceServiceAccounts = false;
    this.enforced = false;
  }

  idle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  private sync(ns: string): void {
    const { store } = this.ctx;
    const n = store.get('core/namespaces', undefined, ns);
    if (!n || n.metadata.deletionTimestamp) return;
    if (store.get('core/serviceaccounts', ns, 'default')) return;
    try {
      store.create('core/serviceaccounts', { metadata: { name: 'default', namespace: ns } }, { namespace: ns });
    } catch (err) {
      // Raced with another creator, or the namespace started terminating meanwhile.
      if (!(err instanceof ApiError && (err.code === 409 || err.code === 403 || err.code === 404))) throw err;
    }
  }
}
