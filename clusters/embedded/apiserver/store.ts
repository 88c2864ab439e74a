/**
 * The object store behind the embedded API server: what etcd plus the generic registry (k8s.io/apiserver
 * registry/generic/registry/store.go) give a real server. One global resourceVersion counter, objects keyed by
 * storage key (`core/pods`, `apps/statefulsets`), namespace and name; optimistic concurrency (409 Conflict on a stale
 * resourceVersion); no-op updates that change nothing (no new resourceVersion, no watch event, so controllers do not
 * spin); status subresource split; generation; graceful pod deletion; finalizers with deletionTimestamp; the
 * `orphan` and `foregroundDeletion` finalizers for propagationPolicy; watch from a resourceVersion with 410 Gone when
 * it has been compacted away. Admission (defaults, validation, protection finalizers) plugs in through `Admission`.
 * Everything handed out is a copy: callers cannot change stored state without going through a verb.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { apiVersionOf, type ResourceType } from './resources.js';
import { matchFields, matchRequirements, type FieldRequirement, type Requirement } from './selectors.js';
import { alreadyExists, ApiError, badRequest, conflict, gone, invalid, notFound } from './status.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

/** An object as it travels on the wire (JSON). Kind-specific code narrows it with its own small interfaces. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent {
  type: WatchEventType;
  object: KObject;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  /** Deprecated boolean form (1.6); true means Orphan. */
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

export interface ListOptions {
  labelSelector?: Requirement[];
  fieldSelector?: FieldRequirement[];
}

export type Op = 'create' | 'update' | 'delete';

export interface Admission {
  /** Mutate (defaults, finalizers) and validate (throw ApiError). Returns warnings for the Warning header. */
  admit(op: Op, rt: ResourceType, obj: KObject, old: KObject | undefined, store: Store, sub?: string): string[] | void;
}

export interface WriteResult {
  object: KObject;
  warnings: string[];
}

interface Entry {
  rv: number;
  key: string;
  namespace: string;
  type: WatchEventType;
  object: KObject;
}

interface Watcher {
  key: string;
  namespace?: string;
  fn: (ev: WatchEvent) => void;
  queue: WatchEvent[];
  scheduled: boolean;
  stopped: boolean;
}

export interface StoreOptions {
  types: readonly ResourceType[];
  admission?: Admission;
  /** Persist every object to `<dir>/state.json` (debounced); loaded at start when present. */
  persistDir?: string;
  /** How many watch events are kept for resuming watches; older resourceVersions get 410 Gone. */
  historySize?: number;
  now?: () => Date;
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kinds whose spec changes bump metadata.generation (as their registry strategies do). */
const GENERATION_KINDS = new Set(['StatefulSet', 'Deployment', 'PersistentVolumeClaim', 'PersistentVolume', 'Pod', 'Service', 'Namespace', 'StorageClass', 'Node']);

/** Kinds whose objects have a spec/status split enforced by a status subresource. */
function hasStatus(rt: ResourceType): boolean {
  return rt.subresources.includes('status');
}

const clone = <T>(x: T): T => structuredClone(x);

export class Store {
  private readonly objects = new Map<string, Map<string, KObject>>();
  private readonly byKey = new Map<string, ResourceType>();
  private readonly history: Entry[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 1;
  private compactedBefore = 0;
  private persistTimer: NodeJS.Timeout | undefined;
  private readonly historySize: number;
  private readonly now: () => Date;
  admission: Admission | undefined;

  constructor(private readonly opts: StoreOptions) {
    for (const t of opts.types) if (!this.byKey.has(t.storageKey)) this.byKey.set(t.storageKey, t);
    this.admission = opts.admission;
    this.historySize = opts.historySize ?? 20_000;
    this.now = opts.now ?? (() => new Date());
    if (opts.persistDir) this.load(opts.persistDir);
  }

  /** The preferred resource type stored under `key`. */
  type(key: string): ResourceType {
    const t = this.byKey.get(key);
    if (!t) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${key})`);
    return t;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(key: string): Map<string, KObject> {
    let b = this.objects.get(key);
    if (!b) this.objects.set(key, (b = new Map()));
    return b;
  }

  private id(ns: string | undefined, name: string): string {
    return `${ns ?? ''}/${name}`;
  }

  get(key: string, ns: string | undefined, name: string): KObject | undefined {
    const o = this.bucket(key).get(this.id(this.type(key).namespaced ? ns : undefined, name));
    return o && clone(o);
  }

  /** Like get, but a missing object is the real 404. */
  mustGet(key: string, ns: string | undefined, name: string): KObject {
    const o = this.get(key, ns, name);
    if (!o) {
      const t = this.type(key);
      throw notFound(t.group, t.plural, name);
    }
    return o;
  }

  list(key: string, ns?: string, opts: ListOptions = {}): { items: KObject[]; resourceVersion: string } {
    const t = this.type(key);
    const items: KObject[] = [];
    for (const o of this.bucket(key).values()) {
      if (t.namespaced && ns !== undefined && o.metadata.namespace !== ns) continue;
      if (opts.labelSelector && !matchRequirements(opts.labelSelector, o.metadata.labels)) continue;
      if (opts.fieldSelector && !matchFields(t.kind, opts.fieldSelector, o)) continue;
      items.push(clone(o));
    }
    items.sort((a, b) => this.id(a.metadata.namespace, a.metadata.name!).localeCompare(this.id(b.metadata.namespace, b.metadata.name!)));
    return { items, resourceVersion: String(this.rv) };
  }

  create(key: string, input: KObject, opts: { namespace?: string; dryRun?: boolean } = {}): WriteResult {
    const t = this.type(key);
    const obj = clone(input);
    obj.metadata ??= {};
    const meta = obj.metadata;
    if (t.namespaced) {
      const ns = opts.namespace ?? meta.namespace;
      if (!ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      if (meta.namespace && opts.namespace && meta.namespace !== opts.namespace)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      meta.namespace = ns;
      const nsObj = this.bucket('core/namespaces').get(this.id(undefined, ns));
      if (!nsObj) throw notFound('', 'namespaces', ns);
      if (nsObj.metadata.deletionTimestamp)
        throw new ApiError(403, 'Forbidden', `${t.plural}${t.group ? '.' + t.group : ''} "${meta.name ?? meta.generateName ?? ''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, {
          name: meta.name ?? meta.generateName ?? '',
          ...(t.group ? { group: t.group } : {}),
          kind: t.plural,
          causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }],
        });
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) {
      for (let i = 0; i < 10 && !meta.name; i++) {
        const candidate = meta.generateName + Array.from({ length: 5 }, () => NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)]).join('');
        if (!this.bucket(key).has(this.id(meta.namespace, candidate))) meta.name = candidate;
      }
    }
    if (!meta.name) throw invalid(t.group, t.kind, '', [{ field: 'metadata.name', type: 'Required value', detail: 'name or generateName is required' }]);
    if (!DNS1123_SUBDOMAIN.test(meta.name) || meta.name.length > 253)
      throw invalid(t.group, t.kind, meta.name, [
        { field: 'metadata.name', type: 'Invalid value', value: meta.name, detail: "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character" },
      ]);
    if (this.bucket(key).has(this.id(meta.namespace, meta.name))) throw alreadyExists(t.group, t.plural, meta.name);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = this.timestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.resourceVersion;
    delete meta.managedFields;
    if (GENERATION_KINDS.has(t.kind) && (t.kind === 'StatefulSet' || t.kind === 'Deployment')) meta.generation = 1;
    const warnings = this.admission?.admit('create', t, obj, undefined, this) ?? [];
    if (opts.dryRun) return { object: obj, warnings: warnings || [] };
    meta.resourceVersion = String(++this.rv);
    this.bucket(key).set(this.id(meta.namespace, meta.name), obj);
    this.emit(key, 'ADDED', obj);
    return { object: clone(obj), warnings: warnings || [] };
  }

  /**
   * PUT semantics. `sub` is the subresource (`status`, `finalize`, `scale` is handled by the server). A stale
   * resourceVersion is a 409 Conflict; none means an unconditional update.
   */
  update(key: string, input: KObject, opts: { sub?: string; namespace?: string; dryRun?: boolean } = {}): WriteResult {
    const t = this.type(key);
    const name = input.metadata?.name;
    if (!name) throw invalid(t.group, t.kind, '', [{ field: 'metadata.name', type: 'Required value', detail: 'name is required' }]);
    const ns = t.namespaced ? (opts.namespace ?? input.metadata.namespace) : undefined;
    const cur = this.bucket(key).get(this.id(ns, name));
    if (!cur) throw notFound(t.group, t.plural, name);
    if (t.namespaced && input.metadata.namespace && input.metadata.namespace !== ns)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const rv = input.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== cur.metadata.resourceVersion) throw conflict(t.group, t.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
    if (input.metadata.uid && input.metadata.uid !== cur.metadata.uid)
      throw conflict(t.group, t.plural, name, `Precondition failed: UID in precondition: ${input.metadata.uid}, UID in object meta: ${cur.metadata.uid}`);
    let next = clone(input);
    next.apiVersion = apiVersionOf(t);
    next.kind = t.kind;
    const meta = next.metadata;
    // Fields a client cannot change through an update.
    meta.uid = cur.metadata.uid;
    meta.creationTimestamp = cur.metadata.creationTimestamp;
    meta.namespace = cur.metadata.namespace;
    if (!t.namespaced) delete meta.namespace;
    if (cur.metadata.deletionTimestamp) meta.deletionTimestamp = cur.metadata.deletionTimestamp;
    else delete meta.deletionTimestamp;
    if (cur.metadata.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = cur.metadata.deletionGracePeriodSeconds;
    else delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    // Clients cannot set generation (rest.BeforeUpdate); only a spec change below bumps it.
    if (cur.metadata.generation !== undefined) meta.generation = cur.metadata.generation;
    else delete meta.generation;
    // Copy a field from the stored object; an absent one stays absent so that no-op updates compare equal.
    const keepField = (to: KObject, from: KObject, f: 'spec' | 'status') => {
      if (from[f] === undefined) delete to[f];
      else to[f] = clone(from[f]);
    };
    if (opts.sub === 'status' || opts.sub === 'finalize') {
      // Status writes change only status (finalize: only spec.finalizers of a namespace).
      const keep = clone(cur);
      if (opts.sub === 'status') keepField(keep, next, 'status');
      else keep.spec = { ...((keep.spec as object) ?? {}), finalizers: (next.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [] };
      next = keep;
    } else if (hasStatus(t) && t.kind !== 'Namespace') {
      keepField(next, cur, 'status');
    } else if (t.kind === 'Namespace') {
      keepField(next, cur, 'status');
      keepField(next, cur, 'spec');
    }
    if (cur.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f) => !(cur.metadata.finalizers ?? []).includes(f));
      if (added.length)
        throw invalid(t.group, t.kind, name, [{ field: 'metadata.finalizers', type: 'Forbidden', detail: `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }]);
    }
    if (!opts.sub && GENERATION_KINDS.has(t.kind) && !isDeepStrictEqual(next.spec, cur.spec) && cur.metadata.generation !== undefined) next.metadata.generation = cur.metadata.generation + 1;
    const warnings = this.admission?.admit('update', t, next, clone(cur), this, opts.sub) ?? [];
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
    if (isDeepStrictEqual(next, cur)) return { object: clone(cur), warnings: warnings || [] };
    if (opts.dryRun) return { object: next, warnings: warnings || [] };
    if (this.shouldDeleteNow(t, next)) {
      this.remove(key, next);
      return { object: clone(next), warnings: warnings || [] };
    }
    next.metadata.resourceVersion = String(++this.rv);
    this.bucket(key).set(this.id(next.metadata.namespace, name), next);
    this.emit(key, 'MODIFIED', next);
    return { object: clone(next), warnings: warnings || [] };
  }

  /** Read-modify-write with retries on conflict; `fn` returns false to leave the object alone. */
  mutate(key: string, ns: string | undefined, name: string, fn: (o: KObject) => boolean | void, sub?: string): KObject | undefined {
    for (let i = 0; i < 5; i++) {
      const o = this.get(key, ns, name);
      if (!o) return undefined;
      if (fn(o) === false) return o;
      try {
        return this.update(key, o, { sub, namespace: ns }).object;
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'Conflict')) throw err;
      }
    }
    throw new ApiError(500, 'InternalError', `too many conflicts updating ${key} ${ns ?? ''}/${name}`);
  }

  private shouldDeleteNow(t: ResourceType, o: KObject): boolean {
    if (!o.metadata.deletionTimestamp || (o.metadata.finalizers ?? []).length) return false;
    // A namespace also waits for its spec.finalizers (ShouldDeleteNamespaceDuringUpdate).
    if (t.kind === 'Namespace' && ((o.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length) return false;
    // A pod waits for its kubelet (which deletes it with grace 0) unless it never ran anywhere.
    if (t.kind === 'Pod' && (o.metadata.deletionGracePeriodSeconds ?? 0) > 0) return false;
    return true;
  }

  /** The default propagation a registry strategy applies when the client sends none. */
  defaultPropagation(rt: ResourceType): 'Orphan' | 'Background' {
    return rt.group === 'apps' && rt.version !== 'v1' ? 'Orphan' : 'Background';
  }

  /**
   * DELETE. Returns the object as it is after the call and whether it is gone. A pod with a grace period, or any
   * object with finalizers (including the ones propagationPolicy adds), only gets a deletionTimestamp.
   */
  delete(key: string, ns: string | undefined, name: string, opts: DeleteOptions = {}, rt?: ResourceType): { object: KObject; deleted: boolean } {
    const t = rt ?? this.type(key);
    const nsKey = t.namespaced ? ns : undefined;
    const cur = this.bucket(key).get(this.id(nsKey, name));
    if (!cur) throw notFound(t.group, t.plural, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid) throw conflict(t.group, t.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion)
      throw conflict(t.group, t.plural, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    if (opts.orphanDependents !== undefined && opts.propagationPolicy !== undefined)
      throw invalid(t.group, t.kind, name, [{ field: 'propagationPolicy', type: 'Invalid value', detail: 'orphanDependents and deletionPropagation cannot be both set' }]);
    const next = clone(cur);
    const warnings = this.admission?.admit('delete', t, next, clone(cur), this) ?? [];
    void warnings;
    const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : opts.orphanDependents === false ? 'Background' : undefined);
    let finalizers = [...(next.metadata.finalizers ?? [])];
    if (policy === 'Orphan' || (policy === undefined && !cur.metadata.deletionTimestamp && this.defaultPropagation(t) === 'Orphan' && this.hasDependents(cur))) {
      if (!finalizers.includes('orphan')) finalizers.push('orphan');
      finalizers = finalizers.filter((f) => f !== 'foregroundDeletion');
    } else if (policy === 'Foreground') {
      if (!finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
      finalizers = finalizers.filter((f) => f !== 'orphan');
    } else if (policy === 'Background') finalizers = finalizers.filter((f) => f !== 'orphan' && f !== 'foregroundDeletion');
    if (t.kind === 'Namespace' && !cur.metadata.deletionTimestamp) {
      // The namespace lifecycle: Terminating until the namespace controller has emptied it and finalized.
      next.status = { ...((next.status as object) ?? {}), phase: 'Terminating' };
    }
    if (finalizers.length) next.metadata.finalizers = finalizers;
    else delete next.metadata.finalizers;
    let grace = 0;
    if (t.kind === 'Pod') {
      const pod = next as KObject & { spec?: { nodeName?: string; terminationGracePeriodSeconds?: number }; status?: { phase?: string } };
      grace = opts.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      if (!pod.spec?.nodeName || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') grace = 0;
      if (cur.metadata.deletionGracePeriodSeconds !== undefined) grace = Math.min(grace, cur.metadata.deletionGracePeriodSeconds);
    }
    const pendingNs = t.kind === 'Namespace' && ((next.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length > 0;
    if (opts.dryRun?.length) return { object: next, deleted: !finalizers.length && grace === 0 && !pendingNs };
    if (finalizers.length || grace > 0 || pendingNs) {
      if (!cur.metadata.deletionTimestamp || (t.kind === 'Pod' && grace < (cur.metadata.deletionGracePeriodSeconds ?? Infinity))) {
        next.metadata.deletionTimestamp = new Date(this.now().getTime() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
        next.metadata.deletionGracePeriodSeconds = grace;
      }
      if (isDeepStrictEqual(next, cur)) return { object: clone(cur), deleted: false };
      next.metadata.resourceVersion = String(++this.rv);
      this.bucket(key).set(this.id(nsKey, name), next);
      this.emit(key, 'MODIFIED', next);
      return { object: clone(next), deleted: false };
    }
    if (!next.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = this.timestamp();
      next.metadata.deletionGracePeriodSeconds = 0;
    }
    this.remove(key, next);
    return { object: clone(next), deleted: true };
  }

  /** Whether anything names this object as an owner (only then does the default Orphan policy need a finalizer). */
  private hasDependents(o: KObject): boolean {
    for (const bucket of this.objects.values()) for (const d of bucket.values()) if (d.metadata.ownerReferences?.some((r) => r.uid === o.metadata.uid)) return true;
    return false;
  }

  private remove(key: string, obj: KObject): void {
    obj.metadata.resourceVersion = String(++this.rv);
    this.bucket(key).delete(this.id(obj.metadata.namespace, obj.metadata.name!));
    this.emit(key, 'DELETED', obj);
  }

  /** Every object in every resource, for the garbage collector and namespace deletion. */
  *all(): Generator<{ key: string; object: KObject }> {
    for (const [key, bucket] of this.objects) for (const o of [...bucket.values()]) yield { key, object: clone(o) };
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  /**
   * Watch `key` (optionally one namespace). `fromRv` undefined or "0": ADDED for every current object first, then
   * changes; a number: every change after it, or 410 Gone when history no longer reaches back that far.
   */
  watch(key: string, ns: string | undefined, fromRv: string | undefined, fn: (ev: WatchEvent) => void, opts: { initialEventsEnd?: boolean } = {}): { stop(): void; resourceVersion: string } {
    const t = this.type(key);
    const w: Watcher = { key, namespace: t.namespaced ? ns : undefined, fn, queue: [], scheduled: false, stopped: false };
    if (fromRv === undefined || fromRv === '' || fromRv === '0') {
      for (const o of this.list(key, w.namespace).items) w.queue.push({ type: 'ADDED', object: o });
      // Streaming lists end the initial state with a bookmark annotated k8s.io/initial-events-end.
      if (opts.initialEventsEnd) w.queue.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.rv), annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    } else {
      const from = Number(fromRv);
      if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resource version "${fromRv}"`);
      if (from < this.compactedBefore) throw gone(`too old resource version: ${from} (${this.compactedBefore})`);
      for (const e of this.history) if (e.rv > from && e.key === key && (w.namespace === undefined || e.namespace === w.namespace)) w.queue.push({ type: e.type, object: clone(e.object) });
    }
    this.watchers.add(w);
    this.schedule(w);
    return {
      resourceVersion: String(this.rv),
      stop: () => {
        w.stopped = true;
        this.watchers.delete(w);
      },
    };
  }

  private schedule(w: Watcher): void {
    if (w.scheduled || !w.queue.length) return;
    w.scheduled = true;
    setImmediate(() => {
      w.scheduled = false;
      while (w.queue.length && !w.stopped) {
        const ev = w.queue.shift()!;
        try {
          w.fn(ev);
        } catch {
          // A watcher's own failure must not break the store or other watchers.
        }
      }
    });
  }

  private emit(key: string, type: WatchEventType, obj: KObject): void {
    const entry: Entry = { rv: this.rv, key, namespace: obj.metadata.namespace ?? '', type, object: clone(obj) };
    this.history.push(entry);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.compactedBefore = dropped[dropped.length - 1]!.rv;
    }
    for (const w of this.watchers) {
      if (w.key !== key || (w.namespace !== undefined && w.namespace !== entry.namespace)) continue;
      w.queue.push({ type, object: clone(obj) });
      this.schedule(w);
    }
    this.schedulePersist();
  }

  /** Forget watch history up to now (tests use it to exercise 410 Gone). */
  compact(): void {
    this.history.length = 0;
    this.compactedBefore = this.rv;
  }

  timestamp(): string {
    return this.now().toISOString().replace(/\.\d+Z$/, 'Z');
  }

  private schedulePersist(): void {
    if (!this.opts.persistDir || this.persistTimer) return;
    this.persistTimer = setTimeout(() => this.flush(), 50);
    this.persistTimer.unref();
  }

  /** Write the state file now (also called at shutdown). */
  flush(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    const dir = this.opts.persistDir;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    const objects: Record<string, KObject[]> = {};
    for (const [key, bucket] of this.objects) objects[key] = [...bucket.values()];
    writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify({ resourceVersion: this.rv, objects }));
    renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
  }

  private load(dir: string): void {
    const file = join(dir, 'state.json');
    if (!existsSync(file)) return;
    const state = JSON.parse(readFileSync(file, 'utf8')) as { resourceVersion: number; objects: Record<string, KObject[]> };
    this.rv = state.resourceVersion;
    this.compactedBefore = this.rv;
    for (const [key, items] of Object.entries(state.objects)) for (const o of items) this.bucket(key).set(this.id(o.metadata.namespace, o.metadata.name!), o);
  }
}


