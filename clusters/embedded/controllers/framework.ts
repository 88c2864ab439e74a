/**
 * What every embedded controller shares: the context it runs in, a deduplicating work queue with retry backoff
 * (client-go's workqueue, reduced to what one process needs), a watch-to-queue helper, and the event recorder that
 * writes core/v1 Events the way client-go's recorder does (name `<object>.<hex>`, count and lastTimestamp bumped for
 * a repeat of the same reason and message).
 */
import { randomBytes } from 'node:crypto';
import type { ClusterProfile } from '../profiles.js';
import type { KObject, Store, WatchEvent } from '../apiserver/store.js';
import { ApiError } from '../apiserver/status.js';

export interface ControllerLogger {
  (msg: string, fields?: Record<string, unknown>): void;
}

export interface ControllerContext {
  store: Store;
  profile: ClusterProfile;
  events: EventRecorder;
  log: ControllerLogger;
}

export interface Controller {
  readonly name: string;
  start(ctx: ControllerContext): void;
  stop(): void;
}

/**
 * Keys are processed one at a time per key, in arrival order, deduplicated while waiting. A handler that throws is
 * retried with backoff (200 ms doubling to 10 s); `requeueAfter` schedules a later look (resyncs, timeouts).
 */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly order: string[] = [];
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: (key: string) => Promise<void> | void,
    private readonly onError: (key: string, err: unknown) => void = () => undefined,
  ) {}

  add(key: string): void {
    if (this.stopped || this.pending.has(key)) return;
    this.pending.add(key);
    this.order.push(key);
    if (!this.running) void this.drain();
  }

  requeueAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.order.length && !this.stopped) {
      const key = this.order.shift()!;
      this.pending.delete(key);
      try {
        await this.handler(key);
        this.failures.delete(key);
      } catch (err) {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        this.requeueAfter(key, Math.min(10_000, 200 * 2 ** (n - 1)));
        try {
          this.onError(key, err);
        } catch {
          // A failing logger must not wedge the queue (running would stay true forever).
        }
      }
    }
    this.running = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when nothing is queued or running (tests); at once for a stopped queue once its handler returned. */
  idle(): Promise<void> {
    if (!this.running && (!this.order.length || this.stopped)) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.order.length = 0;
    this.pending.clear();
    if (!this.running) for (const w of this.idleWaiters.splice(0)) w();
  }
}

export const objectKey = (o: KObject) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!);

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Watch a resource from now on (existing objects arrive as ADDED first) and call `fn` for every event. */
export function informer(store: Store, key: string, fn: (ev: WatchEvent) => void): () => void {
  const w = store.watch(key, undefined, undefined, fn);
  return () => w.stop();
}

export interface InvolvedObject {
  kind: string;
  apiVersion?: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export function involved(o: KObject, fieldPath?: string): InvolvedObject {
  return {
    kind: o.kind ?? '',
    ...(o.apiVersion ? { apiVersion: o.apiVersion } : {}),
    name: o.metadata.name!,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    ...(o.metadata.uid ? { uid: o.metadata.uid } : {}),
    ...(o.metadata.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {}),
    ...(fieldPath ? { fieldPath } : {}),
  };
}

export class EventRecorder {
  constructor(private readonly store: Store) {}

  /**
   * Record an event about `obj` (or an InvolvedObject). Cluster-scoped objects get their events in `default`, as
   * client-go's recorder does. A repeat (client-go's getEventKey: same source, involved object, type, reason and
   * message) bumps count and lastTimestamp. Not emulated: the aggregation of >10 similar events with different
   * messages and the spam filter.
   */
  record(obj: KObject | InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string, source: { component: string; host?: string }): void {
    const inv = 'metadata' in obj ? involved(obj) : obj;
    const ns = inv.namespace ?? 'default';
    const now = this.store.timestamp();
    try {
      const same = this.store
        .list('core/events', ns)
        .items.find((e) => {
          const ev = e as KObject & { involvedObject?: InvolvedObject; reason?: string; message?: string; type?: string; source?: { component?: string; host?: string } };
          const o = ev.involvedObject;
          return (
            o?.kind === inv.kind &&
            o.name === inv.name &&
            o.uid === inv.uid &&
            o.apiVersion === inv.apiVersion &&
            o.fieldPath === inv.fieldPath &&
            ev.type === type &&
            ev.reason === reason &&
            ev.message === message &&
            ev.source?.component === source.component &&
            ev.source?.host === source.host
          );
        });
      if (same) {
        this.store.mutate('core/events', ns, same.metadata.name!, (e) => {
          e.count = ((e.count as number | undefined) ?? 1) + 1;
          e.lastTimestamp = now;
        });
        return;
      }
      this.store.create(
        'core/events',
        {
          metadata: { name: `${inv.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
          involvedObject: inv,
          reason,
          message,
          source,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          type,
          eventTime: null,
          reportingComponent: source.component,
          reportingInstance: source.host ?? '',
        },
        { namespace: ns },
      );
    } catch (err) {
      // Events are best effort (a terminating namespace refuses them), exactly as for a real recorder.
      if (!(err instanceof ApiError)) throw err;
    }
  }

  /** Events about one object, oldest first (tests and artifacts). */
  about(obj: { name: string; namespace?: string; uid?: string }): (KObject & { reason: string; message: string; type: string; count: number })[] {
    return this.store
      .list('core/events', obj.namespace ?? 'default')
      .items.filter((e) => {
        const inv = (e as { involvedObject?: InvolvedObject }).involvedObject;
        return inv?.name === obj.name && (!obj.uid || inv.uid === obj.uid);
      })
      .sort((a, b) => String(a.firstTimestamp).localeCompare(String(b.firstTimestamp))) as (KObject & { reason: string; message: string; type: string; count: number })[];
  }
}
