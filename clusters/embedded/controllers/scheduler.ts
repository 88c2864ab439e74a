/**
 * default-scheduler, reduced to the filters the scenarios can see: node readiness and cordon, nodeSelector and
 * required node affinity, NoSchedule/NoExecute taints, and the volume checks (unbound immediate claims wait, bound
 * PVs' node affinity). Scoring spreads pods of one owner across nodes (fewest siblings, then fewest pods, then name),
 * so a 3-replica StatefulSet lands on both nodes. Binding sets spec.nodeName, condition PodScheduled and the
 * `Scheduled` event; a pod that fits nowhere gets PodScheduled False/Unschedulable and a FailedScheduling event in the
 * wording of the emulated release, and is retried when nodes, claims or volumes change.
 */
import type { KObject } from '../apiserver/store.js';
import type { ClusterProfile } from '../profiles.js';
import { objectKey, splitKey, WorkQueue, informer, type Controller, type ControllerContext } from './framework.js';

type Obj = Record<string, unknown>;
const obj = (x: unknown): Obj => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Obj) : {});
const arr = (x: unknown): Obj[] => (Array.isArray(x) ? (x as Obj[]) : []);

export const SCHEDULER_NAME = 'default-scheduler';
const RETRY_MS = 15_000;

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export function tolerates(tolerations: Obj[], t: Taint): boolean {
  return tolerations.some((tol) => {
    if (tol.effect && tol.effect !== t.effect) return false;
    if (tol.operator === 'Exists') return !tol.key || tol.key === t.key;
    return tol.key === t.key && (tol.value ?? '') === (t.value ?? '');
  });
}

/** One nodeSelectorTerm (matchExpressions on labels; matchFields on metadata.name). */
export function termMatches(term: Obj, node: KObject): boolean {
  const labels = node.metadata.labels ?? {};
  const exprs = arr(term.matchExpressions);
  const fields = arr(term.matchFields);
  if (!exprs.length && !fields.length) return false;
  const test = (e: Obj, value: string | undefined) => {
    const values = (e.values as string[] | undefined) ?? [];
    switch (e.operator) {
      case 'In':
        return value !== undefined && values.includes(value);
      case 'NotIn':
        return value === undefined || !values.includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      case 'Gt':
        return value !== undefined && Number(value) > Number(values[0]);
      case 'Lt':
        return value !== undefined && Number(value) < Number(values[0]);
      default:
        return false;
    }
  };
  return exprs.every((e) => test(e, labels[e.key as string])) && fields.every((f) => test(f, f.key === 'metadata.name' ? node.metadata.name : undefined));
}

const nodeSelectorMatches = (sel: Obj, node: KObject) => arr(sel.nodeSelectorTerms).some((t) => termMatches(t, node));

/** The FailedScheduling wording of the emulated release. */
export function schedulingMessages(p: ClusterProfile) {
  const preemption = (n: number) => (p.minor >= 24 ? ` preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.${p.minor < 29 ? '.' : ''}` : '');
  return {
    notReady: p.minor >= 17 ? 'node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn\'t tolerate' : 'node(s) were not ready',
    unschedulable: 'node(s) were unschedulable',
    selector: p.minor >= 22 ? "node(s) didn't match Pod's node affinity/selector" : "node(s) didn't match node selector",
    taint: (t: Taint) => (p.minor >= 26 ? `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}` : `node(s) had taint {${t.key}: ${t.value ?? ''}}, that the pod didn't tolerate`),
    volumeAffinity: 'node(s) had volume node affinity conflict',
    /** Reasons counted per node: `0/2 nodes are available: 1 x, 1 y.` */
    fit: (n: number, reasons: Map<string, number>) =>
      n === 0
        ? 'no nodes available to schedule pods'
        : `0/${n} nodes are available: ${[...reasons.entries()]
            .sort((a, b) => a[0].localeCompare(b[0]))
            .map(([r, c]) => `${c} ${r}`)
            .join(', ')}.${preemption(n)}`,
    /** A pod-level failure (PreFilter from ~1.26, before that every node reported it). */
    podLevel: (n: number, reason: string, count: number) => {
      // 1.10-1.16 reported the volume binder's error itself, repeated once per node.
      if (p.minor < 17) return `${reason} (repeated ${count} times)`;
      if (p.minor < 26 || n === 0) return `0/${n} nodes are available: ${n} ${reason}.${preemption(n)}`;
      return `0/${n} nodes are available: ${reason}.${preemption(n)}`;
    },
    unboundClaims: p.minor >= 12 ? 'pod has unbound immediate PersistentVolumeClaims' : 'pod has unbound PersistentVolumeClaims',
    assigned: (pod: KObject, node: string) => (p.minor >= 12 ? `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}` : `Successfully assigned ${pod.metadata.name} to ${node}`),
  };
}

export class Scheduler implements Controller {
  readonly name = 'scheduler';
  private queue: WorkQueue | undefined;
  private stops: (() => void)[] = [];
  private ctx!: ControllerContext;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.queue = new WorkQueue((k) => this.sync(k), (k, err) => ctx.log('scheduler sync failed', { key: k, err: String(err) }));
    this.stops.push(
      informer(ctx.store, 'core/pods', (ev) => {
        if (ev.type !== 'DELETED' && this.wants(ev.object)) this.queue!.add(objectKey(ev.object));
        // A pod leaving frees a node for others waiting.
        if (ev.type === 'DELETED') this.requeuePending();
      }),
    );
    for (const key of ['core/nodes', 'core/persistentvolumeclaims', 'core/persistentvolumes', 'storage.k8s.io/storageclasses'])
      this.stops.push(informer(ctx.store, key, () => this.requeuePending()));
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    this.queue?.stop();
  }

  /** Resolves when queued work is done (tests). */
  idle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  private wants(pod: KObject): boolean {
    const spec = obj(pod.spec);
    return !spec.nodeName && !pod.metadata.deletionTimestamp && (spec.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME;
  }

  private requeuePending(): void {
    for (const p of this.ctx.store.list('core/pods').items) if (this.wants(p)) this.queue!.add(objectKey(p));
  }

  private sync(key: string): void {
    const { store, profile, events } = this.ctx;
    const { namespace, name } = splitKey(key);
    const pod = store.get('core/pods', namespace, name);
    if (!pod || !this.wants(pod)) return;
    const msg = schedulingMessages(profile);
    const spec = obj(pod.spec);
    const nodes = store.list('core/nodes').items;
    const fail = (message: string) => {
      store.mutate(
        'core/pods',
        namespace,
        name,
        (p) => {
          const st = obj(p.status);
          const conds = arr(st.conditions).filter((c) => c.type !== 'PodScheduled');
          const old = arr(st.conditions).find((c) => c.type === 'PodScheduled');
          if (old && old.status === 'False' && old.reason === 'Unschedulable' && old.message === message) return false;
          conds.push({ type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: store.timestamp(), reason: 'Unschedulable', message });
          p.status = { ...st, phase: st.phase ?? 'Pending', conditions: conds };
        },
        'status',
      );
      events.record(pod, 'Warning', 'FailedScheduling', message, { component: SCHEDULER_NAME });
      this.queue!.requeueAfter(key, RETRY_MS);
    };
    // Volumes: claims must exist, not be deleted, and (immediate binding) be bound.
    const pvNodeAffinity: Obj[] = [];
    for (const v of arr(spec.volumes)) {
      const claimName = obj(v.persistentVolumeClaim).claimName as string | undefined;
      if (!claimName) continue;
      const pvc = store.get('core/persistentvolumeclaims', namespace, claimName);
      if (!pvc) {
        if (profile.minor >= 10) return fail(msg.podLevel(nodes.length, `persistentvolumeclaim "${claimName}" not found`, nodes.length));
        continue;
      }
      if (pvc.metadata.deletionTimestamp && profile.minor >= 10) return fail(msg.podLevel(nodes.length, `persistentvolumeclaim "${claimName}" is being deleted`, nodes.length));
      const volumeName = obj(pvc.spec).volumeName as string | undefined;
      if (!volumeName || obj(pvc.status).phase !== 'Bound') {
        // 1.6 had no volume-aware scheduling: the pod was placed and the kubelet waited.
        if (profile.minor >= 10) return fail(msg.podLevel(nodes.length, msg.unboundClaims, nodes.length));
        continue;
      }
      const pv = store.get('core/persistentvolumes', undefined, volumeName);
      const req = obj(obj(obj(pv?.spec).nodeAffinity).required);
      if (pv && arr(req.nodeSelectorTerms).length) pvNodeAffinity.push(req);
    }
    const reasons = new Map<string, number>();
    const bump = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
    const tolerations = arr(spec.tolerations);
    const fits: KObject[] = [];
    for (const node of nodes) {
      const ready = arr(obj(node.status).conditions).some((c) => c.type === 'Ready' && c.status === 'True');
      const taints = arr(obj(node.spec).taints) as unknown as Taint[];
      if (!ready && !tolerates(tolerations, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' })) {
        bump(msg.notReady);
        continue;
      }
      if (obj(node.spec).unschedulable === true && !tolerates(tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) {
        bump(msg.unschedulable);
        continue;
      }
      const sel = obj(spec.nodeSelector) as Record<string, string>;
      const labels = node.metadata.labels ?? {};
      const required = obj(obj(obj(spec.affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution);
      if (Object.entries(sel).some(([k, v]) => labels[k] !== v) || (arr(required.nodeSelectorTerms).length && !nodeSelectorMatches(required, node))) {
        bump(msg.selector);
        continue;
      }
      const bad = taints.find((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(tolerations, t));
      if (bad) {
        bump(msg.taint(bad));
        continue;
      }
      if (pvNodeAffinity.some((a) => !nodeSelectorMatches(a, node))) {
        bump(msg.volumeAffinity);
        continue;
      }
      fits.push(node);
    }
    if (!fits.length) return fail(msg.fit(nodes.length, reasons));
    const node = this.pick(pod, fits);
    const bound = store.mutate('core/pods', namespace, name, (p) => {
      if (obj(p.spec).nodeName) return false;
      (p.spec as Obj).nodeName = node;
    });
    if (!bound || obj(bound.spec).nodeName !== node) return;
    store.mutate(
      'core/pods',
      namespace,
      name,
      (p) => {
        const st = obj(p.status);
        const conds = arr(st.conditions).filter((c) => c.type !== 'PodScheduled');
        conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: store.timestamp() });
        p.status = { ...st, conditions: conds };
      },
      'status',
    );
    events.record(bound, 'Normal', 'Scheduled', msg.assigned(pod, node), { component: SCHEDULER_NAME });
  }

  /** Fewest pods of the same controller, then fewest pods, then name. */
  private pick(pod: KObject, nodes: KObject[]): string {
    const owner = pod.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    const pods = this.ctx.store.list('core/pods').items.filter((p) => obj(p.spec).nodeName);
    const score = (n: KObject) => {
      const on = pods.filter((p) => obj(p.spec).nodeName === n.metadata.name);
      return [owner ? on.filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === owner)).length : 0, on.length] as const;
    };
    return nodes
      .map((n) => ({ n: n.metadata.name!, s: score(n) }))
      .sort((a, b) => a.s[0] - b.s[0] || a.s[1] - b.s[1] || a.n.localeCompare(b.n))[0]!.n;
  }
}
