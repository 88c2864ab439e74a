import t from 'tap';
import { humanDuration, tableColumns, toTable, wantsTable } from './tables.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString().replace(/\.\d+Z$/, 'Z');
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** One row's cells, the way the server prints them for `kubectl get` (minor: emulated version). */
const cells = (kind: string, o: unknown, minor?: number) => toTable(kind, [o], { now: NOW, minor }).rows[0]!.cells;
const names = (kind: string, minor?: number) => tableColumns(kind, minor).map((c) => c.name);
const wide = (kind: string, minor?: number) =>
  tableColumns(kind, minor)
    .filter((c) => c.priority === 1)
    .map((c) => c.name);

t.test('humanDuration (apimachinery duration.HumanDuration)', async (t) => {
  const cases: [number, string][] = [
    [-2 * S, '<invalid>'],
    [-1.5 * S, '0s'],
    [0, '0s'],
    [999, '0s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [2 * M + 30 * S, '2m30s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * M, '3h5m'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [2 * D + 5 * H, '2d5h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [740 * D, '2y10d'],
    [8 * 365 * D, '8y'],
  ];
  for (const [ms, want] of cases) t.equal(humanDuration(ms), want, `${ms}ms`);
});

t.test('table envelope and includeObject', async (t) => {
  const pod = { metadata: { name: 'p', namespace: 'ns', creationTimestamp: ago(5 * S), uid: 'u1' }, spec: { containers: [] }, status: {} };
  const tbl = toTable('Pod', [pod], { now: NOW, resourceVersion: '42', continue: 'tok' });
  t.equal(tbl.kind, 'Table');
  t.equal(tbl.apiVersion, 'meta.k8s.io/v1');
  t.same(tbl.metadata, { resourceVersion: '42', continue: 'tok' });
  t.same(tbl.rows[0]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod.metadata }, 'default: PartialObjectMetadata');
  t.same(toTable('Pod', [pod], { now: NOW }).metadata, {}, 'no list metadata unless given');
  t.notOk('object' in toTable('Pod', [pod], { now: NOW, includeObject: 'None' }).rows[0]!);
  const full = toTable('Pod', [pod], { now: NOW, includeObject: 'Object', apiVersion: 'v1' }).rows[0]!.object as Record<string, unknown>;
  t.equal(full.kind, 'Pod', 'kind stamped on objects without one');
  t.equal(full.apiVersion, 'v1');
  t.same(full.metadata, pod.metadata);
  const typed = toTable('Pod', [{ ...pod, kind: 'Pod', apiVersion: 'v1' }], { now: NOW, includeObject: 'Object', apiVersion: 'v9' }).rows[0]!.object as Record<string, unknown>;
  t.equal(typed.apiVersion, 'v1', 'an object keeps its own apiVersion');
  t.notOk('apiVersion' in (toTable('Pod', [pod], { now: NOW, includeObject: 'Object' }).rows[0]!.object as object));
  t.same(toTable('Pod', [], { now: NOW }).rows, []);
  t.ok(toTable('Pod', [pod]).rows[0]!.cells[4], 'now defaults to the clock');
  // Unknown kinds: NAME and AGE.
  t.same(names('Lease'), ['Name', 'Age']);
  t.same(cells('Lease', { metadata: { name: 'l', creationTimestamp: ago(90 * S) } }), ['l', '90s']);
  t.same(cells('Lease', { metadata: { name: 'l' } }), ['l', '<unknown>'], 'no creationTimestamp');
  t.same(cells('Lease', 'not an object'), ['', '<unknown>']);
  t.same(tableColumns('Pod')[0], { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace. Cannot be updated.', priority: 0 });
});

t.test('wantsTable', async (t) => {
  t.equal(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'), 'v1', 'kubectl 1.2x Accept');
  t.equal(wantsTable('application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json'), 'v1beta1', 'older kubectl');
  t.equal(wantsTable('application/json; as=Table; v=v1; g=meta.k8s.io'), 'v1', 'spaces after ;');
  t.equal(wantsTable('application/json'), undefined);
  t.equal(wantsTable(undefined), undefined);
  t.equal(wantsTable('application/json;as=Table;v=v2;g=meta.k8s.io'), undefined, 'unknown version');
  t.equal(wantsTable('application/json;as=Table;v=v1;g=other.io'), undefined, 'wrong group');
  t.equal(wantsTable('application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io'), undefined);
});

t.test('pods', async (t) => {
  t.same(names('Pod'), ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
  t.same(wide('Pod'), ['IP', 'Node', 'Nominated Node', 'Readiness Gates'], 'wide columns are priority 1');
  t.equal(tableColumns('Pod', 21)[3]!.type, 'integer', 'RESTARTS is a number before 1.22');
  t.equal(tableColumns('Pod', 22)[3]!.type, 'string', 'and "N (age ago)" from 1.22');

  const base = (status: Record<string, unknown>, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
    metadata: { name: 'web-0', creationTimestamp: ago(3 * M), ...meta },
    spec: { nodeName: 'node-1', containers: [{ name: 'app' }, { name: 'log' }], ...spec },
    status,
  });
  const running = (ready = true, restartCount = 0, extra: Record<string, unknown> = {}) => ({ ready, restartCount, state: { running: { startedAt: ago(M) } }, ...extra });

  t.same(
    cells('Pod', base({ phase: 'Running', podIP: '10.0.0.7', containerStatuses: [running(), running()] })),
    ['web-0', '2/2', 'Running', '0', '3m', '10.0.0.7', 'node-1', '<none>', '<none>'],
    'a running pod',
  );
  t.same(
    cells('Pod', base({ phase: 'Pending' }, { nodeName: undefined })),
    ['web-0', '0/2', 'Pending', '0', '3m', '<none>', '<none>', '<none>', '<none>'],
    'an unscheduled pod',
  );
  t.equal(cells('Pod', base({ phase: 'Running', podIP: '10.0.0.7', podIPs: [{ ip: 'fd00::7' }, { ip: '10.0.0.7' }] }))[5], 'fd00::7', 'the first of podIPs');
  t.equal(cells('Pod', base({ phase: 'Running', containerStatuses: [running(), running(false)] }))[1], '1/2');
  t.equal(cells('Pod', base({ phase: 'Running', nominatedNodeName: 'n2' }))[7], 'n2');

  // Waiting and terminated containers set STATUS; the first container (checked last) wins.
  const waiting = (reason: string) => ({ ready: false, restartCount: 4, state: { waiting: { reason } }, lastState: { terminated: { finishedAt: ago(2 * M), exitCode: 1 } } });
  const crash = base({ phase: 'Running', containerStatuses: [waiting('CrashLoopBackOff'), running()] });
  t.same(cells('Pod', crash).slice(1, 4), ['1/2', 'CrashLoopBackOff', '4 (2m ago)'], 'restarts with the last restart age (1.22+)');
  t.equal(cells('Pod', crash, 21)[3], 4, 'restarts as a number before 1.22');
  t.equal(cells('Pod', base({ phase: 'Running', containerStatuses: [{ restartCount: 2, state: { running: {} }, ready: true }] }))[3], '2', 'no last termination time: just the count');
  t.equal(cells('Pod', base({ phase: 'Pending', containerStatuses: [waiting('ContainerCreating'), waiting('ImagePullBackOff')] }))[2], 'ContainerCreating');
  t.equal(cells('Pod', base({ phase: 'Failed', containerStatuses: [{ state: { terminated: { reason: 'Error', exitCode: 1 } } }] }))[2], 'Error');
  t.equal(cells('Pod', base({ phase: 'Running', containerStatuses: [{ state: { terminated: { exitCode: 3 } } }] }))[2], 'ExitCode:3');
  t.equal(cells('Pod', base({ phase: 'Running', containerStatuses: [{ state: { terminated: { signal: 9, exitCode: 137 } } }] }))[2], 'Signal:9');
  t.equal(cells('Pod', base({ phase: 'Failed', reason: 'Evicted', message: 'low on memory' }))[2], 'Evicted', 'status.reason over phase');
  t.equal(cells('Pod', base({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }))[2], 'SchedulingGated');

  // Completed but a container still running: Running when Ready, else NotReady.
  const completedPlusRunning = (readyCond: string) =>
    base({ phase: 'Running', conditions: [{ type: 'Ready', status: readyCond }], containerStatuses: [{ state: { terminated: { reason: 'Completed', exitCode: 0 } } }, running()] });
  t.equal(cells('Pod', completedPlusRunning('True'))[2], 'Running');
  t.equal(cells('Pod', completedPlusRunning('False'))[2], 'NotReady');

  // Succeeded/Failed rows carry the Completed condition kubectl uses to hide them with --show-all=false.
  const done = toTable('Pod', [base({ phase: 'Succeeded', containerStatuses: [{ state: { terminated: { reason: 'Completed', exitCode: 0 } } }] })], { now: NOW }).rows[0]!;
  t.equal(done.cells[2], 'Completed');
  t.same(done.conditions, [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
  t.same(toTable('Pod', [base({ phase: 'Failed' })], { now: NOW }).rows[0]!.conditions, [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }]);
  t.notOk(toTable('Pod', [base({ phase: 'Running' })], { now: NOW }).rows[0]!.conditions);

  // Deletion.
  const deleting = { deletionTimestamp: ago(0) };
  t.equal(cells('Pod', base({ phase: 'Running', containerStatuses: [running(), running()] }, {}, deleting))[2], 'Terminating');
  t.equal(cells('Pod', base({ phase: 'Running', reason: 'NodeLost' }, {}, deleting))[2], 'Unknown', 'unreachable node');
  t.equal(cells('Pod', base({ phase: 'Succeeded' }, {}, deleting), 32)[2], 'Succeeded', '1.27+: a terminal pod keeps its phase while deleted');
  t.equal(cells('Pod', base({ phase: 'Failed' }, {}, deleting), 20)[2], 'Terminating', 'before 1.27 it shows Terminating');

  // Readiness gates.
  const gated = base({ phase: 'Running', conditions: [{ type: 'example.com/lb', status: 'True' }, { type: 'example.com/dns', status: 'False' }] }, { readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }, { conditionType: 'x/missing' }] });
  t.equal(cells('Pod', gated)[8], '1/3');
});

t.test('pods with init containers and sidecars', async (t) => {
  const pod = (initStatuses: unknown[], extra: Record<string, unknown> = {}, init = [{ name: 'i0' }, { name: 'i1' }]) => ({
    metadata: { name: 'p', creationTimestamp: ago(M) },
    spec: { nodeName: 'n', initContainers: init, containers: [{ name: 'app' }] },
    status: { phase: 'Pending', initContainerStatuses: initStatuses, containerStatuses: [{ ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }], ...extra },
  });
  const ok = { restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } };
  t.equal(cells('Pod', pod([{ state: { waiting: { reason: 'PodInitializing' } } }, {}]))[2], 'Init:0/2', 'first init container still to run');
  t.equal(cells('Pod', pod([ok, { state: { running: {} } }]))[2], 'Init:1/2');
  t.equal(cells('Pod', pod([ok, { state: { waiting: { reason: 'ImagePullBackOff' } } }]))[2], 'Init:ImagePullBackOff');
  t.equal(cells('Pod', pod([{ restartCount: 3, state: { terminated: { exitCode: 1, reason: 'Error' } }, lastState: { terminated: { finishedAt: ago(30 * S) } } }, {}]))[2], 'Init:Error');
  t.equal(cells('Pod', pod([{ state: { terminated: { exitCode: 2 } } }, {}]))[2], 'Init:ExitCode:2');
  t.equal(cells('Pod', pod([{ state: { terminated: { exitCode: 143, signal: 15 } } }, {}]))[2], 'Init:Signal:15');
  const failing = pod([{ restartCount: 3, state: { terminated: { exitCode: 1, reason: 'Error' } }, lastState: { terminated: { finishedAt: ago(30 * S) } } }, {}]);
  t.equal(cells('Pod', failing)[3], '3 (30s ago)', 'init restarts count while initializing');
  t.equal(cells('Pod', pod([ok, ok]))[2], 'PodInitializing', 'all init done: the app container reason');

  // A sidecar (restartPolicy: Always) that has started does not hold initialization, and counts in READY.
  const sidecarSpec = [{ name: 'proxy', restartPolicy: 'Always' }, { name: 'i1' }];
  const withSidecar = (ready: boolean) =>
    pod(
      [{ name: 'proxy', started: true, ready, restartCount: 2, state: { running: {} }, lastState: { terminated: { finishedAt: ago(5 * M) } } }, { name: 'i1', ...ok }],
      { phase: 'Running', conditions: [{ type: 'Initialized', status: 'True' }], containerStatuses: [{ ready: true, restartCount: 0, state: { running: {} } }] },
      sidecarSpec,
    );
  t.same(cells('Pod', withSidecar(true)).slice(1, 4), ['2/2', 'Running', '2 (5m ago)'], 'sidecar ready and its restarts shown');
  t.equal(cells('Pod', withSidecar(false))[1], '1/2');
  const notStarted = pod([{ name: 'proxy', started: false, state: { waiting: { reason: 'ContainerCreating' } } }, { name: 'i1' }], {}, sidecarSpec);
  t.same(cells('Pod', notStarted).slice(1, 3), ['0/2', 'Init:ContainerCreating']);
});

t.test('statefulsets', async (t) => {
  t.same(names('StatefulSet'), ['Name', 'Ready', 'Age', 'Containers', 'Images']);
  t.same(wide('StatefulSet'), ['Containers', 'Images']);
  const sts = {
    metadata: { name: 'mariadb', creationTimestamp: ago(26 * H) },
    spec: { replicas: 3, template: { spec: { containers: [{ name: 'db', image: 'mariadb:10.6' }, { name: 'exporter', image: 'prom/mysqld-exporter' }] } } },
    status: { replicas: 3, readyReplicas: 2 },
  };
  t.same(cells('StatefulSet', sts), ['mariadb', '2/3', '26h', 'db,exporter', 'mariadb:10.6,prom/mysqld-exporter']);
  t.same(cells('StatefulSet', { metadata: { name: 's', creationTimestamp: ago(0) }, spec: {} }), ['s', '0/1', '0s', '', ''], 'replicas default to 1, no status yet');
  t.equal(cells('StatefulSet', { metadata: { name: 's' }, spec: { replicas: 0 } })[1], '0/0');
});

t.test('persistent volume claims', async (t) => {
  t.same(names('PersistentVolumeClaim', 28), ['Name', 'Status', 'Volume', 'Capacity', 'Access Modes', 'StorageClass', 'Age', 'VolumeMode']);
  t.same(names('PersistentVolumeClaim', 29), ['Name', 'Status', 'Volume', 'Capacity', 'Access Modes', 'StorageClass', 'VolumeAttributesClass', 'Age', 'VolumeMode'], 'VOLUMEATTRIBUTESCLASS from 1.29');
  t.same(wide('PersistentVolumeClaim'), ['VolumeMode']);
  const bound = {
    metadata: { name: 'data-mariadb-0', creationTimestamp: ago(10 * M) },
    spec: { volumeName: 'pvc-123', storageClassName: 'datera', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem' },
    status: { phase: 'Bound', capacity: { storage: '2Gi' }, accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] },
  };
  t.same(cells('PersistentVolumeClaim', bound, 32), ['data-mariadb-0', 'Bound', 'pvc-123', '2Gi', 'RWO,ROX', 'datera', '<unset>', '10m', 'Filesystem'], 'capacity and modes from status once bound');
  t.same(cells('PersistentVolumeClaim', bound, 20), ['data-mariadb-0', 'Bound', 'pvc-123', '2Gi', 'RWO,ROX', 'datera', '10m', 'Filesystem']);
  const pending = { metadata: { name: 'c', creationTimestamp: ago(5 * S) }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }, status: { phase: 'Pending' } };
  t.same(cells('PersistentVolumeClaim', pending, 32), ['c', 'Pending', '', '', '', '', '<unset>', '5s', '<unset>'], 'unbound: no capacity or modes');
  const beta = { ...pending, metadata: { ...pending.metadata, annotations: { 'volume.beta.kubernetes.io/storage-class': 'old-style' } }, spec: { ...pending.spec, storageClassName: 'ignored', volumeAttributesClassName: 'gold' } };
  t.same(cells('PersistentVolumeClaim', beta, 32).slice(5, 7), ['old-style', 'gold'], 'the beta annotation wins over storageClassName');
  t.equal(cells('PersistentVolumeClaim', { ...bound, metadata: { ...bound.metadata, deletionTimestamp: ago(0) } })[1], 'Terminating');
  t.equal(cells('PersistentVolumeClaim', { ...bound, status: { phase: 'Bound' } })[3], '0', 'bound without a status capacity prints 0');
});

t.test('persistent volumes', async (t) => {
  t.same(names('PersistentVolume', 28), ['Name', 'Capacity', 'Access Modes', 'Reclaim Policy', 'Status', 'Claim', 'StorageClass', 'Reason', 'Age', 'VolumeMode']);
  t.same(names('PersistentVolume'), ['Name', 'Capacity', 'Access Modes', 'Reclaim Policy', 'Status', 'Claim', 'StorageClass', 'VolumeAttributesClass', 'Reason', 'Age', 'VolumeMode']);
  const pv = {
    metadata: { name: 'pvc-123', creationTimestamp: ago(3 * D) },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce', 'ReadWriteMany', 'ReadWriteOncePod'], persistentVolumeReclaimPolicy: 'Delete', claimRef: { namespace: 'default', name: 'data-mariadb-0' }, storageClassName: 'datera', volumeMode: 'Filesystem' },
    status: { phase: 'Bound' },
  };
  t.same(cells('PersistentVolume', pv, 32), ['pvc-123', '1Gi', 'RWO,RWX,RWOP', 'Delete', 'Bound', 'default/data-mariadb-0', 'datera', '<unset>', '', '3d', 'Filesystem']);
  t.same(cells('PersistentVolume', pv, 27), ['pvc-123', '1Gi', 'RWO,RWX,RWOP', 'Delete', 'Bound', 'default/data-mariadb-0', 'datera', '', '3d', 'Filesystem']);
  const failed = { metadata: { name: 'pv1', creationTimestamp: ago(M) }, spec: { persistentVolumeReclaimPolicy: 'Recycle' }, status: { phase: 'Failed', reason: 'VolumeFailedRecycle' } };
  t.same(cells('PersistentVolume', failed, 20), ['pv1', '0', '', 'Recycle', 'Failed', '', '', 'VolumeFailedRecycle', '60s', '<unset>'], 'no claim, no class, no capacity');
  t.equal(cells('PersistentVolume', { ...pv, metadata: { ...pv.metadata, deletionTimestamp: ago(0) } })[4], 'Terminating');
});

t.test('nodes', async (t) => {
  t.same(names('Node'), ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime']);
  const node = {
    metadata: { name: 'node-1', creationTimestamp: ago(2 * H), labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/': 'x', 'kubernetes.io/role': 'worker', other: 'x' } },
    spec: { unschedulable: true },
    status: {
      conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
      addresses: [{ type: 'Hostname', address: 'node-1' }, { type: 'InternalIP', address: '192.168.1.10' }],
      nodeInfo: { kubeletVersion: 'v1.32.9+dkc.emulated', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0', containerRuntimeVersion: 'dkc://1.0' },
    },
  };
  t.same(cells('Node', node), ['node-1', 'Ready,SchedulingDisabled', 'control-plane,worker', '120m', 'v1.32.9+dkc.emulated', '192.168.1.10', '<none>', 'Debian GNU/Linux 12', '6.1.0', 'dkc://1.0']);
  t.same(cells('Node', { metadata: { name: 'n', creationTimestamp: ago(S) }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }), ['n', 'NotReady', '<none>', '1s', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
  t.equal(cells('Node', { metadata: { name: 'n' } })[1], 'Unknown', 'no Ready condition');
});

t.test('services and endpoints', async (t) => {
  t.same(names('Service'), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
  const svc = (spec: Record<string, unknown>, status: Record<string, unknown> = {}) => ({ metadata: { name: 's', creationTimestamp: ago(M) }, spec, status });
  t.same(cells('Service', svc({ type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }], selector: { 'k8s-app': 'dns', a: 'b' } })), ['s', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP', '60s', 'a=b,k8s-app=dns']);
  t.same(cells('Service', svc({ clusterIP: 'None' })), ['s', 'ClusterIP', 'None', '<none>', '<none>', '60s', '<none>'], 'headless, no ports, no selector');
  t.equal(cells('Service', svc({ type: 'NodePort', clusterIP: '10.96.0.2', ports: [{ port: 80, nodePort: 30080 }], externalIPs: ['1.2.3.4'] }))[3], '1.2.3.4');
  t.equal(cells('Service', svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }))[4], '80:30080/TCP');
  t.equal(cells('Service', svc({ type: 'LoadBalancer' }))[3], '<pending>');
  t.equal(cells('Service', svc({ type: 'LoadBalancer', externalIPs: ['5.6.7.8'] }, { loadBalancer: { ingress: [{ ip: '1.1.1.1' }, { hostname: 'lb.example.test' }] } }))[3], '1.1.1.1,lb.example.test,5.6.7.8');
  t.equal(cells('Service', svc({ type: 'ExternalName', externalName: 'db.example.test' }))[3], 'db.example.test');
  t.equal(cells('Service', svc({ clusterIP: '' }))[2], '<none>');

  t.same(names('Endpoints'), ['Name', 'Endpoints', 'Age']);
  const ep = (subsets: unknown) => cells('Endpoints', { metadata: { name: 'e', creationTimestamp: ago(M) }, subsets })[1];
  t.equal(ep(undefined), '<none>');
  t.equal(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], ports: [{ port: 3306 }] }]), '10.0.0.1:3306,[fd00::1]:3306');
  t.equal(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] }]), '10.0.0.1,10.0.0.2', 'headless without ports');
  t.equal(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80 }, { port: 443 }] }]), '10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...');
  t.equal(ep([{ addresses: [1, 2, 3, 4, 5].map((i) => ({ ip: `10.0.0.${i}` })) }]), '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...');
  t.equal(ep([{ notReadyAddresses: [{ ip: '10.0.0.9' }], ports: [{ port: 80 }] }]), '', 'only not-ready addresses');
});

t.test('events', async (t) => {
  t.same(names('Event'), ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name']);
  t.same(wide('Event'), ['Subobject', 'Source', 'First Seen', 'Count', 'Name']);
  const ev = {
    metadata: { name: 'web-0.17a', creationTimestamp: ago(5 * M) },
    involvedObject: { kind: 'Pod', name: 'web-0', fieldPath: 'spec.containers{app}' },
    reason: 'Pulled',
    message: '  Container image already present  ',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: ago(5 * M),
    lastTimestamp: ago(M),
    count: 3,
    type: 'Normal',
  };
  t.same(cells('Event', ev), ['60s', 'Normal', 'Pulled', 'pod/web-0', 'spec.containers{app}', 'kubelet, node-1', 'Container image already present', '5m', 3, 'web-0.17a']);
  // events.k8s.io-style: eventTime, reportingComponent, series; no count means 1.
  const newer = { metadata: { name: 'e2' }, involvedObject: { kind: 'Node' }, eventTime: '2024-05-01T11:58:00.123456Z', reportingComponent: 'dkc-scheduler', reportingInstance: 'cp', type: 'Warning', reason: 'X', message: 'm' };
  t.same(cells('Event', newer), ['119s', 'Warning', 'X', 'node', '', 'dkc-scheduler, cp', 'm', '119s', 1, 'e2']);
  t.same(cells('Event', { ...newer, series: { count: 7, lastObservedTime: ago(10 * S) } }).filter((_, i) => i === 0 || i === 8), ['10s', 7]);
  t.equal(cells('Event', { ...newer, reportingInstance: undefined })[5], 'dkc-scheduler');
  t.equal(cells('Event', { metadata: {} })[5], '', 'no source at all');
});

t.test('storage classes, namespaces and the rest', async (t) => {
  t.same(names('StorageClass'), ['Name', 'Provisioner', 'ReclaimPolicy', 'VolumeBindingMode', 'AllowVolumeExpansion', 'Age']);
  const sc = { metadata: { name: 'datera', creationTimestamp: ago(D), annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'datera/iscsi', reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true };
  t.same(cells('StorageClass', sc), ['datera (default)', 'datera/iscsi', 'Retain', 'WaitForFirstConsumer', true, '24h']);
  t.same(cells('StorageClass', { metadata: { name: 'old', annotations: { 'storageclass.beta.kubernetes.io/is-default-class': 'true' } }, provisioner: 'p' }), ['old (default)', 'p', 'Delete', 'Immediate', false, '<unknown>']);
  t.equal(cells('StorageClass', { metadata: { name: 'x', annotations: { 'storageclass.kubernetes.io/is-default-class': 'false' } } })[0], 'x');

  t.same(cells('Namespace', { metadata: { name: 'default', creationTimestamp: ago(H) }, status: { phase: 'Active' } }), ['default', 'Active', '60m']);
  t.same(names('Namespace'), ['Name', 'Status', 'Age']);
  t.same(cells('ConfigMap', { metadata: { name: 'cm' }, data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }), ['cm', 3, '<unknown>']);
  t.same(cells('Secret', { metadata: { name: 's' }, type: 'Opaque', data: { a: 'MQ==' } }), ['s', 'Opaque', 1, '<unknown>']);
  t.same(names('Secret'), ['Name', 'Type', 'Data', 'Age']);
  // ServiceAccount: SECRETS column until 1.27.
  t.same(names('ServiceAccount', 27), ['Name', 'Secrets', 'Age']);
  t.same(names('ServiceAccount', 28), ['Name', 'Age']);
  const sa = { metadata: { name: 'default' }, secrets: [{ name: 'default-token-abc' }] };
  t.same(cells('ServiceAccount', sa, 20), ['default', 1, '<unknown>']);
  t.same(cells('ServiceAccount', sa, 32), ['default', '<unknown>']);

  t.same(names('ControllerRevision'), ['Name', 'Controller', 'Revision', 'Age']);
  const cr = { metadata: { name: 'web-5d8f', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'x' }, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', controller: true }] }, revision: 2 };
  t.same(cells('ControllerRevision', cr), ['web-5d8f', 'statefulset.apps/web', 2, '<unknown>']);
  t.equal(cells('ControllerRevision', { metadata: { name: 'r', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', controller: true }] } })[1], 'pod/p', 'core group: kind only');
  t.equal(cells('ControllerRevision', { metadata: { name: 'r' } })[1], '<none>');

  t.same(names('Deployment'), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
  const deploy = {
    metadata: { name: 'd', creationTimestamp: ago(M) },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'd' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }, { key: 'env', operator: 'NotIn', values: ['dev'] }, { key: 'canary', operator: 'DoesNotExist' }, { key: 'zone', operator: 'Exists' }, { key: 'bad', operator: 'Gt' }] },
      template: { spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
    status: { readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1 },
  };
  t.same(cells('Deployment', deploy), ['d', '1/2', 2, 1, '60s', 'c', 'nginx', 'app=d,!canary,env notin (dev),tier in (api,web),zone']);
  t.same(cells('Deployment', { metadata: { name: 'd' }, spec: {} }).slice(1, 4), ['0/1', 0, 0]);
});
