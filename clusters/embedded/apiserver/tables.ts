/**
 * Server-side printing: meta.k8s.io/v1 Table responses with the columns and cells kube-apiserver's printers
 * (pkg/printers/internalversion/printers.go) produce, which `kubectl get` prints unchanged. Servers always fill the
 * wide (priority 1) cells; kubectl hides them unless `-o wide`.
 */

type Obj = Record<string, unknown>;

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  conditions?: { type: string; status: string; reason: string; message: string }[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
}

export interface TableOptions {
  /** What each row carries: nothing, the full object, or a PartialObjectMetadata (the server's default). */
  includeObject?: 'None' | 'Object' | 'Metadata';
  /** The instant ages are measured to. */
  now?: Date;
  /** Emulated minor version (columns differ); newest when absent. */
  minor?: number;
  /** For `object` rows: apiVersion to stamp on objects that lack one. */
  apiVersion?: string;
  /** List metadata of the Table. */
  resourceVersion?: string;
  continue?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// helpers

const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** apimachinery duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    return dy === 0 ? `${Math.trunc(hours / 24 / 365)}y` : `${Math.trunc(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** printers.translateTimestampSince: `<unknown>` for a missing timestamp. */
function since(ts: unknown, now: Date): string {
  const t = typeof ts === 'string' && ts ? Date.parse(ts) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

const col = (name: string, type: string, description: string, priority = 0, format = ''): ColumnDefinition => ({ name, type, format, description, priority });
const NAME = col('Name', 'string', 'Name must be unique within a namespace. Cannot be updated.', 0, 'name');
const AGE = col('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

const meta = (o: Obj) => obj(o.metadata);
const nameOf = (o: Obj) => str(meta(o).name);
const ageOf = (o: Obj, now: Date) => since(meta(o).creationTimestamp, now);
const none = (s: string) => s || '<none>';

/** labels.FormatLabels / Selector.String(): `a=b,c=d` sorted by key. */
function formatLabels(m: unknown): string {
  const keys = Object.keys(obj(m)).sort();
  return keys.map((k) => `${k}=${str(obj(m)[k])}`).join(',');
}

/** metav1.LabelSelectorAsSelector(...).String(). */
function selectorString(sel: unknown): string {
  const s = obj(sel);
  const reqs: [string, string][] = Object.entries(obj(s.matchLabels)).map(([k, v]) => [k, `${k}=${str(v)}`]);
  for (const e of arr(s.matchExpressions).map(obj)) {
    const key = str(e.key);
    const values = arr(e.values).map(str).sort();
    switch (str(e.operator)) {
      case 'In':
        reqs.push([key, `${key} in (${values.join(',')})`]);
        break;
      case 'NotIn':
        reqs.push([key, `${key} notin (${values.join(',')})`]);
        break;
      case 'Exists':
        reqs.push([key, key]);
        break;
      case 'DoesNotExist':
        reqs.push([key, `!${key}`]);
        break;
    }
  }
  reqs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return reqs.map((r) => r[1]).join(',');
}

function containerCells(containers: unknown): [string, string] {
  const cs = arr(containers).map(obj);
  return [cs.map((c) => str(c.name)).join(','), cs.map((c) => str(c.image)).join(',')];
}

/** helper.GetAccessModesAsString. */
function accessModes(modes: unknown): string {
  const m = arr(modes).map(str);
  const out: string[] = [];
  if (m.includes('ReadWriteOnce')) out.push('RWO');
  if (m.includes('ReadOnlyMany')) out.push('ROX');
  if (m.includes('ReadWriteMany')) out.push('RWX');
  if (m.includes('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

const BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';
const classOf = (o: Obj) => str(obj(meta(o).annotations)[BETA_CLASS]) || str(obj(o.spec).storageClassName);

// ---------------------------------------------------------------------------------------------------------------
// printers

interface Printer {
  columns: (minor: number) => ColumnDefinition[];
  row: (o: Obj, now: Date, minor: number) => Omit<TableRow, 'object'>;
}

function podRow(pod: Obj, now: Date, minor: number): Omit<TableRow, 'object'> {
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const phase = str(status.phase);
  let reason = str(status.reason) || phase;
  const conditions = arr(status.conditions).map(obj);
  for (const c of conditions) if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  const initSpecs = arr(spec.initContainers).map(obj);
  const sidecar = (name: string) => initSpecs.find((c) => c.name === name)?.restartPolicy === 'Always';
  // Restartable init containers (sidecars) count towards READY like regular containers.
  const totalContainers = arr(spec.containers).length + initSpecs.filter((c) => c.restartPolicy === 'Always').length;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart = 0;
  let lastSidecarRestart = 0;
  const finishedAt = (cs: Obj) => {
    const t = Date.parse(str(obj(obj(cs.lastState).terminated).finishedAt));
    return Number.isNaN(t) ? 0 : t;
  };
  let initializing = false;
  const inits = arr(status.initContainerStatuses).map(obj);
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i]!;
    const state = obj(c.state);
    const term = state.terminated === undefined ? undefined : obj(state.terminated);
    const waiting = state.waiting === undefined ? undefined : obj(state.waiting);
    restarts += num(c.restartCount);
    lastRestart = Math.max(lastRestart, finishedAt(c));
    if (sidecar(str(c.name))) {
      sidecarRestarts += num(c.restartCount);
      lastSidecarRestart = Math.max(lastSidecarRestart, finishedAt(c));
    }
    if (term && num(term.exitCode) === 0) continue;
    if (sidecar(str(c.name)) && c.started === true) {
      if (c.ready === true) ready++;
      continue;
    }
    if (term) {
      reason = str(term.reason) ? `Init:${str(term.reason)}` : num(term.signal) ? `Init:Signal:${num(term.signal)}` : `Init:ExitCode:${num(term.exitCode)}`;
    } else if (waiting && str(waiting.reason) && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }
  const initialized = conditions.some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses).map(obj);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i]!;
      const state = obj(c.state);
      restarts += num(c.restartCount);
      lastRestart = Math.max(lastRestart, finishedAt(c));
      const waiting = state.waiting === undefined ? undefined : obj(state.waiting);
      const term = state.terminated === undefined ? undefined : obj(state.terminated);
      if (waiting && str(waiting.reason)) reason = str(waiting.reason);
      else if (term && str(term.reason)) reason = str(term.reason);
      else if (term) reason = num(term.signal) ? `Signal:${num(term.signal)}` : `ExitCode:${num(term.exitCode)}`;
      else if (c.ready === true && state.running !== undefined) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = conditions.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
  }
  const deleting = meta(pod).deletionTimestamp !== undefined && meta(pod).deletionTimestamp !== null;
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  // Since 1.27 a terminal pod being deleted keeps its phase as status.
  else if (deleting && (minor < 27 || !terminal)) reason = 'Terminating';
  let restartCell: string | number = restarts;
  if (minor >= 22) restartCell = restarts !== 0 && lastRestart ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)` : String(restarts);
  const podIP = str(obj(arr(status.podIPs)[0]).ip) || str(status.podIP);
  const gates = arr(spec.readinessGates).map(obj);
  let gatesCell = '<none>';
  if (gates.length) {
    const ok = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length;
    gatesCell = `${ok}/${gates.length}`;
  }
  const row: Omit<TableRow, 'object'> = {
    cells: [nameOf(pod), `${ready}/${totalContainers}`, reason, restartCell, ageOf(pod, now), none(podIP), none(str(spec.nodeName)), none(str(status.nominatedNodeName)), gatesCell],
  };
  if (phase === 'Succeeded') row.conditions = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
  if (phase === 'Failed') row.conditions = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
  return row;
}

function nodeRow(node: Obj, now: Date): Omit<TableRow, 'object'> {
  const status = obj(node.status);
  const readyCond = arr(status.conditions)
    .map(obj)
    .find((c) => c.type === 'Ready');
  const states = [readyCond ? (readyCond.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (obj(node.spec).unschedulable === true) states.push('SchedulingDisabled');
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(obj(meta(node).labels))) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && str(v)) roles.add(str(v));
  }
  const info = obj(status.nodeInfo);
  const addr = (t: string) => none(str(arr(status.addresses).map(obj).find((a) => a.type === t)?.address));
  const unknown = (s: string) => s || '<unknown>';
  return {
    cells: [
      nameOf(node),
      states.join(','),
      roles.size ? [...roles].sort().join(',') : '<none>',
      ageOf(node, now),
      str(info.kubeletVersion),
      addr('InternalIP'),
      addr('ExternalIP'),
      unknown(str(info.osImage)),
      unknown(str(info.kernelVersion)),
      unknown(str(info.containerRuntimeVersion)),
    ],
  };
}

function serviceRow(svc: Obj, now: Date): Omit<TableRow, 'object'> {
  const spec = obj(svc.spec);
  const type = str(spec.type) || 'ClusterIP';
  const externalIPs = arr(spec.externalIPs).map(str);
  let external: string;
  if (type === 'LoadBalancer') {
    const lb = arr(obj(obj(svc.status).loadBalancer).ingress)
      .map(obj)
      .map((i) => str(i.ip) || str(i.hostname))
      .filter(Boolean);
    const all = [...lb, ...externalIPs];
    external = all.length ? all.join(',') : '<pending>';
  } else if (type === 'ExternalName') {
    external = str(spec.externalName);
  } else {
    external = externalIPs.length ? externalIPs.join(',') : '<none>';
  }
  const ports = arr(spec.ports)
    .map(obj)
    .map((p) => (num(p.nodePort) ? `${num(p.port)}:${num(p.nodePort)}/${str(p.protocol) || 'TCP'}` : `${num(p.port)}/${str(p.protocol) || 'TCP'}`));
  const selector = formatLabels(spec.selector);
  return { cells: [nameOf(svc), type, none(str(spec.clusterIP)), external, ports.length ? ports.join(',') : '<none>', ageOf(svc, now), none(selector)] };
}

/** printers.formatEndpoints(ep, nil). */
function formatEndpoints(ep: Obj): string {
  const subsets = arr(ep.subsets).map(obj);
  if (!subsets.length) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  const host = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  for (const ss of subsets) {
    const addrs = arr(ss.addresses).map(obj);
    const ports = arr(ss.ports).map(obj);
    if (!ports.length) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          continue;
        }
        list.push(str(a.ip));
      }
    } else {
      for (const p of ports) {
        count += addrs.length;
        for (const a of addrs) {
          if (list.length === max) {
            more = true;
            break;
          }
          list.push(host(str(a.ip), num(p.port)));
        }
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

function eventRow(ev: Obj, now: Date): Omit<TableRow, 'object'> {
  const first = str(ev.firstTimestamp) ? since(ev.firstTimestamp, now) : since(ev.eventTime, now);
  let last = str(ev.lastTimestamp) ? since(ev.lastTimestamp, now) : first;
  let count = num(ev.count);
  const series = ev.series === undefined || ev.series === null ? undefined : obj(ev.series);
  if (series) {
    last = since(series.lastObservedTime, now);
    count = num(series.count);
  } else if (count === 0) count = 1;
  const inv = obj(ev.involvedObject);
  const kind = str(inv.kind).toLowerCase();
  const target = str(inv.name) ? `${kind}/${str(inv.name)}` : kind;
  const src = obj(ev.source);
  const component = str(src.component) || str(ev.reportingComponent);
  const instance = str(src.host) || str(ev.reportingInstance);
  const source = !component ? '' : instance ? `${component}, ${instance}` : component;
  return { cells: [last, str(ev.type), str(ev.reason), target, str(inv.fieldPath), source, str(ev.message).trim(), first, count, nameOf(ev)] };
}

function pvRow(pv: Obj, now: Date, minor: number): Omit<TableRow, 'object'> {
  const spec = obj(pv.spec);
  const ref = spec.claimRef === undefined ? undefined : obj(spec.claimRef);
  const claim = ref ? `${str(ref.namespace)}/${str(ref.name)}` : '';
  const phase = meta(pv).deletionTimestamp ? 'Terminating' : str(obj(pv.status).phase);
  const cells: unknown[] = [nameOf(pv), str(obj(spec.capacity).storage) || '0', accessModes(spec.accessModes), str(spec.persistentVolumeReclaimPolicy), phase, claim, classOf(pv)];
  if (minor >= 29) cells.push(str(spec.volumeAttributesClassName) || '<unset>');
  cells.push(str(obj(pv.status).reason), ageOf(pv, now), str(spec.volumeMode) || '<unset>');
  return { cells };
}

function pvcRow(pvc: Obj, now: Date, minor: number): Omit<TableRow, 'object'> {
  const spec = obj(pvc.spec);
  const status = obj(pvc.status);
  const phase = meta(pvc).deletionTimestamp ? 'Terminating' : str(status.phase);
  const bound = str(spec.volumeName) !== '';
  const capacity = bound ? str(obj(status.capacity).storage) || '0' : '';
  const modes = bound ? accessModes(status.accessModes) : '';
  const cells: unknown[] = [nameOf(pvc), phase, str(spec.volumeName), capacity, modes, classOf(pvc)];
  if (minor >= 29) cells.push(str(spec.volumeAttributesClassName) || '<unset>');
  cells.push(ageOf(pvc, now), str(spec.volumeMode) || '<unset>');
  return { cells };
}

function storageClassRow(sc: Obj, now: Date): Omit<TableRow, 'object'> {
  const ann = obj(meta(sc).annotations);
  const isDefault = ann['storageclass.kubernetes.io/is-default-class'] === 'true' || ann['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
  return {
    cells: [
      isDefault ? `${nameOf(sc)} (default)` : nameOf(sc),
      str(sc.provisioner),
      str(sc.reclaimPolicy) || 'Delete',
      str(sc.volumeBindingMode) || 'Immediate',
      sc.allowVolumeExpansion === true,
      ageOf(sc, now),
    ],
  };
}

function controllerRevisionRow(cr: Obj, now: Date): Omit<TableRow, 'object'> {
  const owner = arr(meta(cr).ownerReferences)
    .map(obj)
    .find((r) => r.controller === true);
  let controller = '<none>';
  if (owner) {
    const api = str(owner.apiVersion);
    const group = api.includes('/') ? api.slice(0, api.indexOf('/')) : '';
    controller = `${(group ? `${str(owner.kind)}.${group}` : str(owner.kind)).toLowerCase()}/${str(owner.name)}`;
  }
  return { cells: [nameOf(cr), controller, num(cr.revision), ageOf(cr, now)] };
}

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: (minor) => [
      NAME,
      col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 'The aggregate status of the containers in this pod.'),
      minor >= 22
        ? col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.')
        : col('Restarts', 'integer', 'The number of times the containers in this pod have been restarted.'),
      AGE,
      col('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
      col('Node', 'string', 'NodeName indicates in which node this pod is scheduled.', 1),
      col('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node.', 1),
      col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
    ],
    row: podRow,
  },
  Node: {
    columns: () => [
      NAME,
      col('Status', 'string', 'The status of the node'),
      col('Roles', 'string', 'The roles of the node'),
      AGE,
      col('Version', 'string', 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
      col('External-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
      col('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
      col('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
      col('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1),
    ],
    row: nodeRow,
  },
  Namespace: {
    columns: () => [NAME, col('Status', 'string', 'The status of the namespace'), AGE],
    row: (o, now) => ({ cells: [nameOf(o), str(obj(o.status).phase), ageOf(o, now)] }),
  },
  Service: {
    columns: () => [
      NAME,
      col('Type', 'string', 'type determines how the Service is exposed.'),
      col('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
      col('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
      col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
      AGE,
      col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1),
    ],
    row: serviceRow,
  },
  Endpoints: {
    columns: () => [NAME, col('Endpoints', 'string', 'Endpoints is the list of endpoints available for this service.'), AGE],
    row: (o, now) => ({ cells: [nameOf(o), formatEndpoints(o), ageOf(o, now)] }),
  },
  ConfigMap: {
    columns: () => [NAME, col('Data', 'string', 'Data contains the configuration data.'), AGE],
    row: (o, now) => ({ cells: [nameOf(o), Object.keys(obj(o.data)).length + Object.keys(obj(o.binaryData)).length, ageOf(o, now)] }),
  },
  Secret: {
    columns: () => [NAME, col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'), col('Data', 'string', 'Data contains the secret data.'), AGE],
    row: (o, now) => ({ cells: [nameOf(o), str(o.type), Object.keys(obj(o.data)).length, ageOf(o, now)] }),
  },
  ServiceAccount: {
    // The SECRETS column was dropped in 1.28, when token secrets stopped being auto-created and listed.
    columns: (minor) => (minor < 28 ? [NAME, col('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), AGE] : [NAME, AGE]),
    row: (o, now, minor) => ({ cells: minor < 28 ? [nameOf(o), arr(o.secrets).length, ageOf(o, now)] : [nameOf(o), ageOf(o, now)] }),
  },
  Event: {
    columns: () => [
      col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
      col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
      col('Reason', 'string', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      col('Object', 'string', 'The object that this event is about.'),
      col('Subobject', 'string', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', 1),
      col('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1),
      col('Message', 'string', 'A human-readable description of the status of this operation.'),
      col('First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1),
      col('Count', 'string', 'The number of times this event has occurred.', 1),
      col('Name', 'string', 'Name must be unique within a namespace. Cannot be updated.', 1, 'name'),
    ],
    row: eventRow,
  },
  PersistentVolume: {
    columns: (minor) => [
      NAME,
      col('Capacity', 'string', 'capacity is the description of the persistent volume\'s resources and capacity.'),
      col('Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'),
      col('Reclaim Policy', 'string', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'),
      col('Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
      col('Claim', 'string', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'),
      col('StorageClass', 'string', 'storageClassName is the name of StorageClass to which this persistent volume belongs.'),
      ...(minor >= 29 ? [col('VolumeAttributesClass', 'string', 'Name of VolumeAttributesClass to which this persistent volume belongs.')] : []),
      col('Reason', 'string', 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.'),
      AGE,
      col('VolumeMode', 'string', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', 1),
    ],
    row: pvRow,
  },
  PersistentVolumeClaim: {
    columns: (minor) => [
      NAME,
      col('Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'),
      col('Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
      col('Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'),
      col('Access Modes', 'string', 'accessModes contains the desired access modes the volume should have.'),
      col('StorageClass', 'string', 'storageClassName is the name of the StorageClass required by the claim.'),
      ...(minor >= 29 ? [col('VolumeAttributesClass', 'string', 'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.')] : []),
      AGE,
      col('VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', 1),
    ],
    row: pvcRow,
  },
  StorageClass: {
    columns: () => [
      NAME,
      col('Provisioner', 'string', 'provisioner indicates the type of the provisioner.'),
      col('ReclaimPolicy', 'string', 'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.'),
      col('VolumeBindingMode', 'string', 'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.'),
      col('AllowVolumeExpansion', 'string', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
      AGE,
    ],
    row: storageClassRow,
  },
  StatefulSet: {
    columns: () => [
      NAME,
      col('Ready', 'string', 'Number of the pod with ready state'),
      AGE,
      col('Containers', 'string', 'Names of each container in the template.', 1),
      col('Images', 'string', 'Images referenced by each container in the template.', 1),
    ],
    row: (o, now) => {
      const spec = obj(o.spec);
      const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
      return { cells: [nameOf(o), `${num(obj(o.status).readyReplicas)}/${replicas}`, ageOf(o, now), ...containerCells(obj(obj(spec.template).spec).containers)] };
    },
  },
  ControllerRevision: {
    columns: () => [NAME, col('Controller', 'string', 'Controller of the object'), col('Revision', 'string', 'Revision indicates the revision of the state represented by Data.'), AGE],
    row: controllerRevisionRow,
  },
  Deployment: {
    columns: () => [
      NAME,
      col('Ready', 'string', 'Number of the pod with ready state'),
      col('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      col('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      AGE,
      col('Containers', 'string', 'Names of each container in the template.', 1),
      col('Images', 'string', 'Images referenced by each container in the template.', 1),
      col('Selector', 'string', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', 1),
    ],
    row: (o, now) => {
      const spec = obj(o.spec);
      const status = obj(o.status);
      const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
      return {
        cells: [nameOf(o), `${num(status.readyReplicas)}/${replicas}`, num(status.updatedReplicas), num(status.availableReplicas), ageOf(o, now), ...containerCells(obj(obj(spec.template).spec).containers), selectorString(spec.selector)],
      };
    },
  },
};

const DEFAULT_PRINTER: Printer = { columns: () => [NAME, AGE], row: (o, now) => ({ cells: [nameOf(o), ageOf(o, now)] }) };

/** Column definitions of a kind's table. */
export function tableColumns(kind: string, minor = 99): ColumnDefinition[] {
  return (PRINTERS[kind] ?? DEFAULT_PRINTER).columns(minor);
}

/** A meta.k8s.io/v1 Table of `objects` (all of kind `kind`), as GET with `Accept: ...;as=Table;...` returns it. */
export function toTable(kind: string, objects: readonly unknown[], options: TableOptions = {}): Table {
  const minor = options.minor ?? 99;
  const now = options.now ?? new Date();
  const include = options.includeObject ?? 'Metadata';
  const printer = PRINTERS[kind] ?? DEFAULT_PRINTER;
  const rows = objects.map((raw) => {
    const o = obj(raw);
    const row: TableRow = printer.row(o, now, minor);
    if (include === 'Object') row.object = { ...(o.kind ? {} : { kind }), ...(o.apiVersion || !options.apiVersion ? {} : { apiVersion: options.apiVersion }), ...o };
    else if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta(o) };
    return row;
  });
  const metadata: Table['metadata'] = {};
  if (options.resourceVersion !== undefined) metadata.resourceVersion = options.resourceVersion;
  if (options.continue) metadata.continue = options.continue;
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions: printer.columns(minor), rows };
}

/** Whether an Accept header asks for a Table (kubectl get does), and which meta.k8s.io version. */
export function wantsTable(accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  for (const part of (accept ?? '').split(',')) {
    const params = Object.fromEntries(
      part
        .split(';')
        .slice(1)
        .map((x) => x.trim().split('=') as [string, string]),
    );
    if (params.as === 'Table' && params.g === 'meta.k8s.io' && (params.v === 'v1' || params.v === 'v1beta1')) return params.v;
  }
  return undefined;
}
