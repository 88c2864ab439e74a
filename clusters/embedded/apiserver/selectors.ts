/**
 * Label and field selectors: the query-string grammar of k8s.io/apimachinery/pkg/labels and fields, and the
 * metav1.LabelSelector object form (matchLabels, matchExpressions) that PVCs, StatefulSets and Services carry.
 */
import { badRequest } from './status.js';

export type Requirement =
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' };

export type Labels = Record<string, string> | undefined;

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

/** Split on commas outside parentheses. */
function terms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

export function parseLabelSelector(s: string | undefined | null): Requirement[] {
  if (!s || !s.trim()) return [];
  return terms(s).map((term) => {
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      checkKey(m[1]!, s);
      return { key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((x) => x.trim()).filter(Boolean) };
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) {
      checkKey(m[1]!, s);
      return { key: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
    }
    m = /^!\s*(\S+)$/.exec(term);
    if (m) {
      checkKey(m[1]!, s);
      return { key: m[1]!, op: '!' };
    }
    checkKey(term, s);
    return { key: term, op: 'exists' };
  });
}

function checkKey(key: string, whole: string): void {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${whole}"`);
}

export function matchRequirements(reqs: readonly Requirement[], labels: Labels): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case '=':
        return has && l[r.key] === r.value;
      case '!=':
        return !has || l[r.key] !== r.value;
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
      case 'exists':
        return has;
      case '!':
        return !has;
    }
  });
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** metav1.LabelSelector -> requirements. An empty selector matches everything; null matches nothing (callers decide). */
export function requirementsOf(sel: LabelSelectorObject): Requirement[] {
  const out: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, value]) => ({ key, op: '=' as const, value }));
  for (const e of sel.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In':
        out.push({ key: e.key, op: 'in', values: e.values ?? [] });
        break;
      case 'NotIn':
        out.push({ key: e.key, op: 'notin', values: e.values ?? [] });
        break;
      case 'Exists':
        out.push({ key: e.key, op: 'exists' });
        break;
      case 'DoesNotExist':
        out.push({ key: e.key, op: '!' });
        break;
      default:
        throw badRequest(`"${e.operator}" is not a valid label selector operator`);
    }
  }
  return out;
}

export const selectorMatches = (sel: LabelSelectorObject | undefined | null, labels: Labels) => (sel ? matchRequirements(requirementsOf(sel), labels) : false);

/** The string form kubectl and client-go print (`app=mysql,tier in (db)`): LabelSelectorAsSelector sorts by key and values. */
export function selectorString(sel: LabelSelectorObject): string {
  return requirementsOf(sel)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((r) => (r.op === '=' || r.op === '!=' ? `${r.key}${r.op}${r.value}` : r.op === 'in' || r.op === 'notin' ? `${r.key} ${r.op} (${[...r.values].sort().join(',')})` : r.op === '!' ? `!${r.key}` : r.key))
    .join(',');
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export function parseFieldSelector(s: string | undefined | null): FieldRequirement[] {
  if (!s || !s.trim()) return [];
  return terms(s).map((term) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    return { field: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
  });
}

/** Field values per kind, as each registry's GetAttrs exposes them; an unsupported field is a 400 like the real server. */
export function fieldValue(kind: string, obj: Record<string, unknown>, field: string): string {
  const get = (path: string): string => {
    let cur: unknown = obj;
    for (const part of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[part] : undefined;
    return cur === undefined || cur === null ? '' : String(cur);
  };
  if (field === 'metadata.name' || field === 'metadata.namespace') return get(field);
  const allowed: Record<string, string[]> = {
    Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
    Event: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'source', 'type', 'reportingComponent'],
    Secret: ['type'],
    Namespace: ['status.phase'],
    Node: ['spec.unschedulable'],
    PersistentVolume: ['spec.storageClassName'],
    StatefulSet: ['status.replicas'],
  };
  if (!(allowed[kind] ?? []).includes(field)) throw badRequest(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
  if (kind === 'Event' && field === 'source') return get('source.component');
  // Go bools and ints print their zero value when unset (fmt.Sprint(node.Spec.Unschedulable)).
  if (kind === 'Node' && field === 'spec.unschedulable') return String(get(field) === 'true');
  if (kind === 'StatefulSet' && field === 'status.replicas') return get(field) || '0';
  return get(field);
}

export function matchFields(kind: string, reqs: readonly FieldRequirement[], obj: Record<string, unknown>): boolean {
  return reqs.every((r) => (fieldValue(kind, obj, r.field) === r.value) === (r.op === '='));
}
