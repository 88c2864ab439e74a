/**
 * The embedded kubelet for one node: registers the Node, watches the pods bound to it and runs each through the
 * kubelet's life cycle — volumes (FlexVolume through flex-volumes.ts, plus emptyDir, configMap, secret, hostPath,
 * downwardAPI), a pod network namespace, init containers then containers from the image catalog, probes, restart
 * policy with back-off, graceful termination (SIGTERM, SIGKILL after the grace period), volume teardown, and only
 * then the final pod deletion with grace 0, as the real status manager does once the pod's resources are reclaimed.
 * Pod status, conditions and container statuses follow the shapes kubectl and client-go read.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import { emulatedGitVersion, type ClusterProfile } from '../profiles.js';
import type { KObject, Store } from '../apiserver/store.js';
import { ApiError } from '../apiserver/status.js';
import type { EventRecorder } from '../controllers/framework.js';
import { FlexVolumeError, type FlexPlugin, type FlexVolumes } from './flex-volumes.js';
import type { ClusterNetwork, PodNet } from './runtime/network.js';
import type { ContainerRuntime, RunningContainer, VolumeMount } from './runtime/containers.js';
import { ImagePullError } from './runtime/catalog.js';
import { execProbe, httpGetProbe, tcpProbe, type ProbeResult } from './runtime/probes.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- pod specs are wire JSON; narrowing every field would triple this file */
type Json = any;

/** Cluster-wide record of which node holds each RWO volume (the attach/detach controller's view). */
export class AttachRegistry {
  private readonly holders = new Map<string, string>();
  claim(pv: string, node: string, exclusive: boolean): string | undefined {
    const cur = this.holders.get(pv);
    if (cur && cur !== node && exclusive) return cur;
    if (exclusive || !cur) this.holders.set(pv, node);
    return undefined;
  }
  release(pv: string, node: string): void {
    if (this.holders.get(pv) === node) this.holders.delete(pv);
  }
  holder(pv: string): string | undefined {
    return this.holders.get(pv);
  }
}

export interface KubeletOptions {
  name: string;
  store: Store;
  profile: ClusterProfile;
  events: EventRecorder;
  network: ClusterNetwork;
  runtime: ContainerRuntime;
  flex: FlexVolumes;
  kubeletRoot: string;
  attachments: AttachRegistry;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Seconds between retries of a pod whose volumes or images are not ready (real kubelet backs off to 2 min). */
  retrySeconds?: number;
}

interface MountedVolume {
  name: string;
  hostPath: string;
  flex?: { plugin: FlexPlugin; pv: string; podDir: string; uniqueName: string; exclusive: boolean };
}

interface ContainerState {
  name: string;
  spec: Json;
  handle?: RunningContainer;
  restarts: number;
  ready: boolean;
  started: boolean;
  waiting?: { reason: string; message?: string };
  lastTerminated?: Json;
  terminated?: Json;
  probeTimers: NodeJS.Timeout[];
  liveFailures: number;
  readySuccesses: number;
  /** Failed starts in a row (image pull, container creation): the kubelet backs off before trying again. */
  startFailures?: number;
  nextStartAt?: number;
}

interface PodState {
  key: string;
  uid: string;
  pod: Json;
  net?: PodNet;
  volumes: MountedVolume[];
  containers: Map<string, ContainerState>;
  initDone: boolean;
  startedAt?: string;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  terminating: boolean;
  gone: boolean;
  retryTimer?: NodeJS.Timeout;
  lastError?: string;
  firstAttempt: number;
}

const SOURCE = (node: string) => ({ component: 'kubelet', host: node });

export class Kubelet {
  private readonly pods = new Map<string, PodState>();
  private readonly workers = new Map<string, { running: boolean; again: boolean }>();
  private stopWatch?: () => void;
  private probeTimer?: NodeJS.Timeout;
  private stopped = false;
  node: Json;

  constructor(readonly o: KubeletOptions) {}

  get name(): string {
    return this.o.name;
  }

  get address(): string {
    return this.o.network.node(this.o.name).address;
  }

  async start(): Promise<void> {
    await this.o.flex.probe(true);
    this.register();
    const w = this.o.store.watch('core/pods', undefined, undefined, (ev) => {
      const p = ev.object as Json;
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      if (p.spec?.nodeName === this.o.name || this.pods.has(key)) this.sync(key);
    });
    this.stopWatch = () => w.stop();
    // Dynamic plugin probing (1.8+): a driver installed later is picked up, as the fsnotify watch does.
    if (this.o.profile.minor >= 8) {
      this.probeTimer = setInterval(() => void this.o.flex.probe(true).catch(() => undefined), 2000);
      this.probeTimer.unref();
    }
  }

  private register(): void {
    const n = this.o.network.node(this.o.name);
    const p = this.o.profile;
    const now = this.o.store.timestamp();
    const osImage = (() => {
      try {
        return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
      } catch {
        return 'Linux';
      }
    })();
    const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, lastHeartbeatTime: now, lastTransitionTime: now, reason, message });
    const node = {
      metadata: {
        name: this.o.name,
        labels: {
          'kubernetes.io/hostname': this.o.name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'beta.kubernetes.io/arch': 'amd64',
        },
        // No volumes.kubernetes.io/controller-managed-attach-detach: this kubelet attaches and detaches itself,
        // as --enable-controller-attach-detach=false does.
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'dkc.io/emulated': p.release },
      },
      spec: { podCIDR: n.podCidr, ...(p.minor >= 16 ? { podCIDRs: [n.podCidr] } : {}) },
      status: {
        capacity: { cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' },
        allocatable: { cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' },
        conditions: [
          cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
          cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
          cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
          cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
        ],
        addresses: [
          { type: 'InternalIP', address: n.address },
          { type: 'Hostname', address: this.o.name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        nodeInfo: {
          machineID: '',
          systemUUID: '',
          bootID: '',
          kernelVersion: osRelease(),
          osImage,
          containerRuntimeVersion: 'dkc-embedded://0.1.0',
          kubeletVersion: emulatedGitVersion(p),
          kubeProxyVersion: emulatedGitVersion(p),
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    };
    const existing = this.o.store.get('core/nodes', undefined, this.o.name);
    if (existing) this.o.store.update('core/nodes', { ...node, metadata: { ...existing.metadata, ...node.metadata } } as KObject, { sub: 'status' });
    else this.o.store.create('core/nodes', node as KObject);
    this.node = this.o.store.get('core/nodes', undefined, this.o.name);
    this.o.events.record(this.node as KObject, 'Normal', 'NodeReady', `Node ${this.o.name} status is now: NodeReady`, SOURCE(this.o.name));
  }

  /** Queue a pod sync; one worker per pod, so pods proceed in parallel as the kubelet's pod workers do. */
  sync(key: string): void {
    if (this.stopped) return;
    let w = this.workers.get(key);
    if (!w) this.workers.set(key, (w = { running: false, again: false }));
    if (w.running) {
      w.again = true;
      return;
    }
    w.running = true;
    void (async () => {
      do {
        w.again = false;
        try {
          await this.syncPod(key);
        } catch (err) {
          this.o.log('pod sync failed', { pod: key, error: (err as Error).message });
        }
      } while (w.again && !this.stopped);
      w.running = false;
      if (!this.pods.has(key)) this.workers.delete(key);
    })();
  }

  private retryLater(st: PodState, seconds = this.o.retrySeconds ?? 2): void {
    if (st.retryTimer) return;
    st.retryTimer = setTimeout(() => {
      st.retryTimer = undefined;
      this.sync(st.key);
    }, seconds * 1000);
    st.retryTimer.unref();
  }

  private async syncPod(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const pod = this.o.store.get('core/pods', ns, name) as Json;
    let st = this.pods.get(key);
    if (st && (!pod || pod.metadata.uid !== st.uid || pod.spec?.nodeName !== this.o.name)) {
      // The pod object is gone (or replaced): whatever ran for it must go too.
      st.gone = true;
      await this.teardown(st, 0);
      this.pods.delete(key);
      st = undefined;
    }
    if (!pod || pod.spec?.nodeName !== this.o.name) return;
    if (!st) {
      st = { key, uid: pod.metadata.uid, pod, volumes: [], containers: new Map(), initDone: false, phase: 'Pending', terminating: false, gone: false, firstAttempt: Date.now() };
      this.pods.set(key, st);
    }
    st.pod = pod;
    if (pod.metadata.deletionTimestamp) return this.terminate(st);
    if (st.phase === 'Succeeded' || st.phase === 'Failed') return;
    await this.ensureRunning(st);
  }

  // ---------------------------------------------------------------- start

  private async ensureRunning(st: PodState): Promise<void> {
    const pod = st.pod;
    try {
      if (st.volumes.length < (pod.spec.volumes ?? []).length) await this.mountVolumes(st);
      if (!st.net) {
        st.net = await this.o.network.addPod(this.o.name, `${pod.metadata.namespace}/${pod.metadata.name}/${st.uid.slice(0, 8)}`);
        await this.writePodFiles(st);
        st.startedAt = this.o.store.timestamp();
      }
      if (!st.initDone) {
        for (const c of pod.spec.initContainers ?? []) {
          const cs = this.containerState(st, c);
          if (cs.terminated?.exitCode === 0) continue;
          await this.startContainer(st, cs);
          this.writeStatus(st);
          const exit = await cs.handle!.wait();
          cs.terminated = { exitCode: exit.exitCode, reason: exit.reason, startedAt: iso(cs.handle!.startedAt), finishedAt: iso(exit.finishedAt), containerID: `dkc://${cs.handle!.id}` };
          if (exit.exitCode !== 0) {
            cs.restarts++;
            if (pod.spec.restartPolicy === 'Never') {
              st.phase = 'Failed';
              this.writeStatus(st);
              return;
            }
            cs.waiting = { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.name}` };
            cs.terminated = undefined;
            this.writeStatus(st);
            this.retryLater(st, backoff(cs.restarts));
            return;
          }
        }
        st.initDone = true;
      }
      for (const c of pod.spec.containers ?? []) {
        const cs = this.containerState(st, c);
        if (cs.handle?.running || cs.terminated) continue;
        if (cs.waiting?.reason === 'CrashLoopBackOff' && cs.lastTerminated && Date.now() < Date.parse(cs.lastTerminated.finishedAt) + backoff(cs.restarts) * 1000) continue;
        if (cs.nextStartAt !== undefined && Date.now() < cs.nextStartAt) {
          // A failed start backs off like a crash (10 s doubling to 5 min), whatever wakes the pod worker meanwhile.
          this.retryLater(st, (cs.nextStartAt - Date.now()) / 1000);
          continue;
        }
        await this.startContainer(st, cs);
      }
      st.lastError = undefined;
      // Pending until every container has been started once (a container that never started keeps the pod Pending).
      if ([...st.containers.values()].filter((x) => (pod.spec.containers ?? []).some((c: Json) => c.name === x.name)).every((x) => x.started)) st.phase = 'Running';
      this.writeStatus(st);
    } catch (err) {
      const msg = (err as Error).message;
      if (err instanceof ApiError && err.code === 404) {
        // Pod deleted while starting: the next sync tears down.
        return;
      }
      if (msg !== st.lastError) this.o.log('pod start blocked', { pod: st.key, error: msg });
      st.lastError = msg;
      this.writeStatus(st);
      this.retryLater(st);
    }
  }

  private containerState(st: PodState, spec: Json): ContainerState {
    let cs = st.containers.get(spec.name);
    if (!cs) st.containers.set(spec.name, (cs = { name: spec.name, spec, restarts: 0, ready: false, started: false, probeTimers: [], liveFailures: 0, readySuccesses: 0, waiting: { reason: 'ContainerCreating' } }));
    return cs;
  }

  private async mountVolumes(st: PodState): Promise<void> {
    const pod = st.pod;
    const ns = pod.metadata.namespace;
    const root = join(this.o.kubeletRoot, 'pods', st.uid, 'volumes');
    for (const v of pod.spec.volumes ?? []) {
      if (st.volumes.some((m) => m.name === v.name)) continue;
      if (v.persistentVolumeClaim) {
        const pvc = this.o.store.get('core/persistentvolumeclaims', ns, v.persistentVolumeClaim.claimName) as Json;
        if (!pvc) throw this.failedMount(st, `persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" not found`);
        if (pvc.status?.phase !== 'Bound' || !pvc.spec.volumeName) throw this.failedMount(st, `PersistentVolumeClaim is not bound: "${pvc.metadata.name}"`);
        const pv = this.o.store.get('core/persistentvolumes', undefined, pvc.spec.volumeName) as Json;
        if (!pv) throw this.failedMount(st, `persistentvolume "${pvc.spec.volumeName}" not found`);
        if (pv.spec.flexVolume) {
          const exclusive = !(pv.spec.accessModes ?? []).some((m: string) => m === 'ReadWriteMany' || m === 'ReadOnlyMany');
          st.volumes.push(await this.mountFlex(st, v.name, pv.metadata.name, pv.spec.flexVolume, !!v.persistentVolumeClaim.readOnly, exclusive, pv.spec.flexVolume.secretRef?.namespace));
        } else if (pv.spec.hostPath || pv.spec.local) {
          st.volumes.push({ name: v.name, hostPath: (pv.spec.hostPath ?? pv.spec.local).path });
        } else throw this.failedMount(st, `volume "${v.name}": the embedded kubelet mounts flexVolume, hostPath and local persistent volumes only`);
      } else if (v.flexVolume) {
        st.volumes.push(await this.mountFlex(st, v.name, v.name, v.flexVolume, !!v.flexVolume.readOnly, true, undefined));
      } else if (v.emptyDir) {
        const dir = join(root, 'kubernetes.io~empty-dir', v.name);
        await mkdir(dir, { recursive: true, mode: 0o777 });
        st.volumes.push({ name: v.name, hostPath: dir });
      } else if (v.hostPath) {
        if (v.hostPath.type === 'DirectoryOrCreate') await mkdir(v.hostPath.path, { recursive: true });
        st.volumes.push({ name: v.name, hostPath: v.hostPath.path });
      } else if (v.configMap || v.secret || v.downwardAPI) {
        const kind = v.configMap ? 'configmap' : v.secret ? 'secret' : 'downward-api';
        const dir = join(root, `kubernetes.io~${kind}`, v.name);
        await mkdir(dir, { recursive: true });
        const files = this.projectedFiles(st, v);
        for (const [path, content] of Object.entries(files)) {
          await mkdir(join(dir, path, '..'), { recursive: true });
          await writeFile(join(dir, path), content, { mode: (v.configMap ?? v.secret ?? v.downwardAPI).defaultMode ?? 0o644 });
        }
        st.volumes.push({ name: v.name, hostPath: dir });
      } else throw this.failedMount(st, `volume "${v.name}": this volume type is not supported by the embedded kubelet`);
    }
  }

  private projectedFiles(st: PodState, v: Json): Record<string, string> {
    const ns = st.pod.metadata.namespace;
    const out: Record<string, string> = {};
    if (v.configMap || v.secret) {
      const src = v.configMap ?? v.secret;
      const obj = (v.configMap ? this.o.store.get('core/configmaps', ns, src.name) : this.o.store.get('core/secrets', ns, src.secretName)) as Json;
      if (!obj) {
        if (src.optional) return out;
        throw this.failedMount(st, `${v.configMap ? 'configmap' : 'secret'} "${src.name ?? src.secretName}" not found`);
      }
      const data: Record<string, string> = v.configMap ? { ...(obj.data ?? {}) } : Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, x]) => [k, Buffer.from(String(x), 'base64').toString()]));
      if (src.items) for (const it of src.items) out[it.path] = data[it.key] ?? '';
      else Object.assign(out, data);
    } else if (v.downwardAPI) {
      for (const it of v.downwardAPI.items ?? []) out[it.path] = it.fieldRef ? this.fieldRef(st, it.fieldRef.fieldPath) : '';
    }
    return out;
  }

  private failedMount(st: PodState, why: string): Error {
    // Real kubelet reports FailedMount once its 2-minute wait expires; report on the first failure after 10 s.
    if (Date.now() - st.firstAttempt > 10_000) this.o.events.record(st.pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${why}`, SOURCE(this.o.name));
    return new Error(why);
  }

  private async mountFlex(st: PodState, volName: string, pvName: string, fv: Json, claimReadOnly: boolean, exclusive: boolean, secretNs: string | undefined): Promise<MountedVolume> {
    const pod = st.pod;
    const flex = this.o.flex;
    let plugin = flex.plugin(fv.driver);
    if (!plugin) {
      await flex.probe(this.o.profile.minor >= 8);
      plugin = flex.plugin(fv.driver);
    }
    if (!plugin) throw this.failedMount(st, `failed to get Plugin from volumeSpec for volume "${pvName}" err=no volume plugin matched`);
    const uniqueName = `${this.o.profile.flexPluginPrefix}${fv.driver}/${pvName}`;
    const holder = this.o.attachments.claim(pvName, this.o.name, exclusive && plugin.attachable);
    if (holder) {
      this.o.events.record(pod, 'Warning', 'FailedAttachVolume', `Multi-Attach error for volume "${pvName}" Volume is already exclusively attached to one node and can't be attached to another`, { component: 'attachdetach-controller' });
      throw new Error(`volume ${pvName} is attached to ${holder}`);
    }
    const spec = { pvName, fsType: fv.fsType ?? '', readOnly: !!fv.readOnly || claimReadOnly, options: { ...(fv.options ?? {}) } };
    const secrets: Record<string, string> = {};
    if (fv.secretRef?.name) {
      // PV secretRef.namespace is honoured from 1.10; before, the pod's namespace.
      const ns = (this.o.profile.minor >= 10 && secretNs) || pod.metadata.namespace;
      const sec = this.o.store.get('core/secrets', ns, fv.secretRef.name) as Json;
      if (!sec) throw this.failedMount(st, `Couldn't get secret ${ns}/${fv.secretRef.name} err=secrets "${fv.secretRef.name}" not found`);
      // 1.7+ kubelet only accepts a secret whose type is the driver name (first release unverified; taken as 1.8).
      if (this.o.profile.minor >= 8 && sec.type !== fv.driver) throw this.failedMount(st, `Cannot get secret of type ${fv.driver}`);
      for (const [k, x] of Object.entries(sec.data ?? {})) secrets[k] = Buffer.from(String(x), 'base64').toString();
    }
    try {
      this.setInUse(uniqueName, true);
      const dev = await flex.attachAndMountDevice(plugin, spec);
      const podSpec = { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: st.uid, serviceAccount: pod.spec.serviceAccountName ?? 'default', ...(pod.spec.securityContext?.fsGroup !== undefined ? { fsGroup: pod.spec.securityContext.fsGroup } : {}) };
      const m = await flex.mountPod(plugin, spec, podSpec, pvName, dev.device, secrets);
      return { name: volName, hostPath: m.podDir, flex: { plugin, pv: pvName, podDir: m.podDir, uniqueName, exclusive } };
    } catch (err) {
      if (!flex.attached.has(pvName)) this.o.attachments.release(pvName, this.o.name);
      const msg = err instanceof FlexVolumeError ? err.message : (err as Error).message;
      this.o.events.record(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${pvName}" : ${msg}`, SOURCE(this.o.name));
      throw new Error(msg);
    }
  }

  private setInUse(uniqueName: string, inUse: boolean): void {
    this.o.store.mutate(
      'core/nodes',
      undefined,
      this.o.name,
      (n) => {
        const status = n.status as Json;
        const cur: string[] = status.volumesInUse ?? [];
        const next = inUse ? [...new Set([...cur, uniqueName])].sort() : cur.filter((x) => x !== uniqueName);
        if (next.length === cur.length && next.every((x, i) => x === cur[i])) return false;
        if (next.length) status.volumesInUse = next;
        else delete status.volumesInUse;
      },
      'status',
    );
  }

  private async writePodFiles(st: PodState): Promise<void> {
    const pod = st.pod;
    const dir = join(this.o.kubeletRoot, 'pods', st.uid);
    await mkdir(dir, { recursive: true });
    const hostname = pod.spec.hostname ?? pod.metadata.name;
    const fqdn = pod.spec.subdomain ? `${hostname}.${pod.spec.subdomain}.${pod.metadata.namespace}.svc.cluster.local` : '';
    const hosts = [
      '# Kubernetes-managed hosts file.',
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'fe00::0\tip6-mcastprefix',
      'fe00::1\tip6-allnodes',
      'fe00::2\tip6-allrouters',
      `${st.net!.ip}\t${fqdn ? `${fqdn}\t` : ''}${hostname}`,
      ...(pod.spec.hostAliases ?? []).map((a: Json) => `\n# Entries added by HostAliases.\n${a.ip}\t${(a.hostnames ?? []).join('\t')}`),
      '',
    ];
    await writeFile(join(dir, 'etc-hosts'), hosts.join('\n'));
    await writeFile(join(dir, 'hostname'), `${hostname}\n`);
    const ns = pod.metadata.namespace;
    await writeFile(join(dir, 'resolv.conf'), `search ${ns}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n`);
  }

  private fieldRef(st: PodState, path: string): string {
    const pod = st.pod;
    const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
    if (m) return pod.metadata[m[1]!]?.[m[2]!] ?? '';
    switch (path) {
      case 'metadata.name':
        return pod.metadata.name;
      case 'metadata.namespace':
        return pod.metadata.namespace;
      case 'metadata.uid':
        return pod.metadata.uid;
      case 'spec.nodeName':
        return this.o.name;
      case 'spec.serviceAccountName':
        return pod.spec.serviceAccountName ?? '';
      case 'status.podIP':
      case 'status.podIPs':
        return st.net?.ip ?? '';
      case 'status.hostIP':
      case 'status.hostIPs':
        return this.address;
      default:
        throw new Error(`unsupported fieldRef ${path}`);
    }
  }

  private resolveEnv(st: PodState, c: Json): Record<string, string> {
    const ns = st.pod.metadata.namespace;
    const env: Record<string, string> = {};
    const get = (key: string, ref: Json) => {
      const obj = this.o.store.get(key, ns, ref.name) as Json;
      if (!obj) {
        if (ref.optional) return undefined;
        throw new Error(`${key === 'core/secrets' ? 'secret' : 'configmap'} "${ref.name}" not found`);
      }
      return obj;
    };
    for (const from of c.envFrom ?? []) {
      const isSecret = !!from.secretRef;
      const obj = get(isSecret ? 'core/secrets' : 'core/configmaps', from.secretRef ?? from.configMapRef);
      for (const [k, v] of Object.entries(obj?.data ?? {})) env[`${from.prefix ?? ''}${k}`] = isSecret ? Buffer.from(String(v), 'base64').toString() : String(v);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.fieldRef) env[e.name] = this.fieldRef(st, e.valueFrom.fieldRef.fieldPath);
      else if (e.valueFrom?.secretKeyRef) {
        const s = get('core/secrets', e.valueFrom.secretKeyRef);
        const v = s?.data?.[e.valueFrom.secretKeyRef.key];
        if (v === undefined && s && !e.valueFrom.secretKeyRef.optional) throw new Error(`couldn't find key ${e.valueFrom.secretKeyRef.key} in Secret ${ns}/${e.valueFrom.secretKeyRef.name}`);
        if (v !== undefined) env[e.name] = Buffer.from(String(v), 'base64').toString();
      } else if (e.valueFrom?.configMapKeyRef) {
        const cm = get('core/configmaps', e.valueFrom.configMapKeyRef);
        const v = cm?.data?.[e.valueFrom.configMapKeyRef.key];
        if (v === undefined && cm && !e.valueFrom.configMapKeyRef.optional) throw new Error(`couldn't find key ${e.valueFrom.configMapKeyRef.key} in ConfigMap ${ns}/${e.valueFrom.configMapKeyRef.name}`);
        if (v !== undefined) env[e.name] = String(v);
      } else if (e.valueFrom?.resourceFieldRef) env[e.name] = '0';
      else env[e.name] = expand(String(e.value ?? ''), env);
    }
    return env;
  }

  private async startContainer(st: PodState, cs: ContainerState): Promise<void> {
    const pod = st.pod;
    const c = cs.spec;
    let env: Record<string, string>;
    try {
      env = this.resolveEnv(st, c);
    } catch (err) {
      cs.waiting = { reason: 'CreateContainerConfigError', message: (err as Error).message };
      this.o.events.record(pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`, SOURCE(this.o.name));
      throw err;
    }
    const mounts: VolumeMount[] = [];
    for (const vm of c.volumeMounts ?? []) {
      const vol = st.volumes.find((v) => v.name === vm.name);
      if (!vol) throw new Error(`volume ${vm.name} not mounted`);
      mounts.push({ hostPath: vol.hostPath, containerPath: vm.mountPath, readOnly: !!vm.readOnly, ...(vm.subPath ? { subPath: vm.subPath } : {}) });
    }
    const podDir = join(this.o.kubeletRoot, 'pods', st.uid);
    const fieldPath = `spec.${(pod.spec.initContainers ?? []).some((x: Json) => x.name === c.name) ? 'initContainers' : 'containers'}{${c.name}}`;
    const inv = { kind: 'Pod', apiVersion: 'v1', name: pod.metadata.name, namespace: pod.metadata.namespace, uid: st.uid, fieldPath };
    try {
      const handle = await this.o.runtime.start({
        podUid: st.uid,
        podName: pod.metadata.name,
        namespace: pod.metadata.namespace,
        containerName: c.name,
        image: c.image,
        command: c.command?.map((x: string) => expand(x, env)),
        args: c.args?.map((x: string) => expand(x, env)),
        env,
        workingDir: c.workingDir,
        netns: st.net!.netns,
        hostname: pod.spec.hostname ?? pod.metadata.name,
        hostsFile: join(podDir, 'etc-hosts'),
        hostnameFile: join(podDir, 'hostname'),
        resolvFile: join(podDir, 'resolv.conf'),
        mounts,
      });
      if (cs.restarts === 0 && !cs.lastTerminated) this.o.events.record(inv, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, SOURCE(this.o.name));
      this.o.events.record(inv, 'Normal', 'Created', `Created container ${c.name}`, SOURCE(this.o.name));
      this.o.events.record(inv, 'Normal', 'Started', `Started container ${c.name}`, SOURCE(this.o.name));
      cs.handle = handle;
      cs.startFailures = 0;
      cs.nextStartAt = undefined;
      cs.waiting = undefined;
      cs.terminated = undefined;
      cs.started = true;
      cs.ready = false;
      cs.readySuccesses = 0;
      cs.liveFailures = 0;
      void handle.wait().then(() => this.onExit(st, cs, handle));
      if (!(pod.spec.initContainers ?? []).some((x: Json) => x.name === c.name)) this.startProbes(st, cs);
    } catch (err) {
      cs.startFailures = (cs.startFailures ?? 0) + 1;
      cs.nextStartAt = Date.now() + backoff(cs.startFailures) * 1000;
      if (err instanceof ImagePullError) {
        const first = cs.waiting?.reason !== 'ErrImagePull' && cs.waiting?.reason !== 'ImagePullBackOff';
        cs.waiting = { reason: first ? 'ErrImagePull' : 'ImagePullBackOff', message: first ? err.message : `Back-off pulling image "${c.image}"` };
        this.o.events.record(inv, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${err.message}`, SOURCE(this.o.name));
        this.o.events.record(inv, 'Warning', 'Failed', 'Error: ErrImagePull', SOURCE(this.o.name));
      } else {
        cs.waiting = { reason: 'RunContainerError', message: (err as Error).message };
        this.o.events.record(inv, 'Warning', 'Failed', `Error: ${(err as Error).message}`, SOURCE(this.o.name));
      }
      throw err;
    }
  }

  private onExit(st: PodState, cs: ContainerState, handle: RunningContainer): void {
    if (cs.handle !== handle) return;
    for (const t of cs.probeTimers) clearInterval(t);
    cs.probeTimers = [];
    if (st.terminating || st.gone) return;
    void handle.wait().then((exit) => {
      const term = { exitCode: exit.exitCode, ...(exit.signal ? { signal: signalNumber(exit.signal) } : {}), reason: exit.reason, startedAt: iso(handle.startedAt), finishedAt: iso(exit.finishedAt), containerID: `dkc://${handle.id}` };
      const policy = st.pod.spec.restartPolicy ?? 'Always';
      const isInit = (st.pod.spec.initContainers ?? []).some((x: Json) => x.name === cs.name);
      if (isInit) return;
      cs.ready = false;
      if (policy === 'Always' || (policy === 'OnFailure' && exit.exitCode !== 0)) {
        cs.lastTerminated = term;
        cs.restarts++;
        cs.handle = undefined;
        cs.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${backoff(cs.restarts)}s restarting failed container=${cs.name} pod=${st.pod.metadata.name}_${st.pod.metadata.namespace}(${st.uid})` };
        this.o.events.record(st.pod, 'Warning', 'BackOff', 'Back-off restarting failed container', SOURCE(this.o.name));
        this.writeStatus(st);
        this.retryLater(st, backoff(cs.restarts));
        return;
      }
      cs.terminated = term;
      const all = [...st.containers.values()].filter((x) => !(st.pod.spec.initContainers ?? []).some((i: Json) => i.name === x.name));
      if (all.every((x) => x.terminated)) st.phase = all.every((x) => x.terminated.exitCode === 0) ? 'Succeeded' : 'Failed';
      this.writeStatus(st);
    });
  }

  private startProbes(st: PodState, cs: ContainerState): void {
    const c = cs.spec;
    const handle = cs.handle!;
    const runProbe = async (p: Json): Promise<ProbeResult> => {
      const timeout = p.timeoutSeconds ?? 1;
      const host = p.httpGet?.host ?? p.tcpSocket?.host ?? st.net!.ip;
      const port = (x: Json) => (typeof x === 'number' ? x : Number((c.ports ?? []).find((q: Json) => q.name === x)?.containerPort ?? x));
      if (p.exec) return execProbe(handle, p.exec.command, timeout);
      if (p.tcpSocket) return tcpProbe(st.net!.netns, host, port(p.tcpSocket.port), timeout);
      if (p.httpGet) return httpGetProbe(st.net!.netns, { host, port: port(p.httpGet.port), path: p.httpGet.path ?? '/', scheme: (p.httpGet.scheme ?? 'HTTP').toLowerCase() }, timeout);
      return { success: true, message: '' };
    };
    const schedule = (p: Json, kind: 'Readiness' | 'Liveness') => {
      const period = (p.periodSeconds ?? 10) * 1000;
      const tick = async () => {
        if (!handle.running || cs.handle !== handle || st.terminating) return;
        const r = await runProbe(p).catch((e: unknown) => ({ success: false, message: String(e) }));
        if (!handle.running || cs.handle !== handle || st.terminating) return;
        if (kind === 'Readiness') {
          if (r.success) cs.readySuccesses++;
          else cs.readySuccesses = 0;
          const ready = r.success && cs.readySuccesses >= (p.successThreshold ?? 1);
          if (!r.success) this.o.events.record(st.pod, 'Warning', 'Unhealthy', `Readiness probe failed: ${r.message}`, SOURCE(this.o.name));
          if (ready !== cs.ready) {
            cs.ready = ready;
            this.writeStatus(st);
          }
        } else {
          cs.liveFailures = r.success ? 0 : cs.liveFailures + 1;
          if (!r.success) this.o.events.record(st.pod, 'Warning', 'Unhealthy', `Liveness probe failed: ${r.message}`, SOURCE(this.o.name));
          if (cs.liveFailures >= (p.failureThreshold ?? 3)) {
            this.o.events.record(st.pod, 'Normal', 'Killing', `Container ${cs.name} failed liveness probe, will be restarted`, SOURCE(this.o.name));
            void handle.stop(st.pod.spec.terminationGracePeriodSeconds ?? 30);
          }
        }
      };
      const first = setTimeout(() => {
        void tick();
        const t = setInterval(() => void tick(), period);
        t.unref();
        cs.probeTimers.push(t);
      }, (p.initialDelaySeconds ?? 0) * 1000);
      first.unref();
      cs.probeTimers.push(first);
    };
    if (c.readinessProbe) schedule(c.readinessProbe, 'Readiness');
    else cs.ready = true;
    if (c.livenessProbe) schedule(c.livenessProbe, 'Liveness');
  }

  // ---------------------------------------------------------------- status

  private writeStatus(st: PodState): void {
    if (st.gone) return;
    const pod = st.pod;
    const now = this.o.store.timestamp();
    const statusOf = (cs: ContainerState, init: boolean) => {
      const state = cs.handle?.running
        ? { running: { startedAt: iso(cs.handle.startedAt) } }
        : cs.terminated
          ? { terminated: cs.terminated }
          : { waiting: cs.waiting ?? { reason: 'ContainerCreating' } };
      return {
        name: cs.name,
        state,
        ...(cs.lastTerminated ? { lastState: { terminated: cs.lastTerminated } } : { lastState: {} }),
        ready: init ? cs.terminated?.exitCode === 0 : cs.ready && !!cs.handle?.running,
        restartCount: cs.restarts,
        image: cs.spec.image,
        imageID: cs.handle?.imageID ?? '',
        ...(cs.handle ? { containerID: `dkc://${cs.handle.id}` } : {}),
        ...(init ? {} : { started: !!cs.handle?.running }),
      };
    };
    const spec = pod.spec;
    const initStatuses = (spec.initContainers ?? []).map((c: Json) => statusOf(this.containerState(st, c), true));
    const statuses = (spec.containers ?? []).map((c: Json) => statusOf(this.containerState(st, c), false));
    const allReady = statuses.length > 0 && statuses.every((s: Json) => s.ready);
    this.o.store.mutate(
      'core/pods',
      pod.metadata.namespace,
      pod.metadata.name,
      (p) => {
        if (p.metadata.uid !== st.uid) return false;
        const status = (p.status ?? {}) as Json;
        const prev = JSON.stringify(status);
        const cond = (type: string, ok: boolean, reason?: string) => {
          const old = (status.conditions ?? []).find((c: Json) => c.type === type);
          const s = ok ? 'True' : 'False';
          return { type, status: s, lastProbeTime: null, lastTransitionTime: old && old.status === s ? old.lastTransitionTime : now, ...(reason && !ok ? { reason } : {}) };
        };
        const sched = (status.conditions ?? []).find((c: Json) => c.type === 'PodScheduled') ?? { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now };
        const conds = [
          ...(this.o.profile.minor >= 29 ? [cond('PodReadyToStartContainers', !!st.net)] : []),
          cond('Initialized', st.initDone || !(spec.initContainers ?? []).length, 'ContainersNotInitialized'),
          cond('Ready', allReady && st.phase === 'Running', st.phase === 'Succeeded' ? 'PodCompleted' : 'ContainersNotReady'),
          cond('ContainersReady', allReady && st.phase === 'Running', st.phase === 'Succeeded' ? 'PodCompleted' : 'ContainersNotReady'),
          sched,
        ];
        p.status = {
          ...status,
          phase: st.phase,
          conditions: conds,
          hostIP: this.address,
          ...(this.o.profile.minor >= 28 ? { hostIPs: [{ ip: this.address }] } : {}),
          ...(st.net ? { podIP: st.net.ip, podIPs: [{ ip: st.net.ip }] } : {}),
          ...(st.startedAt ? { startTime: st.startedAt } : {}),
          ...(initStatuses.length ? { initContainerStatuses: initStatuses } : {}),
          containerStatuses: statuses,
          qosClass: status.qosClass ?? 'BestEffort',
        };
        // Keep lastProbeTime/transition stable so an unchanged pod is a no-op write.
        return JSON.stringify(p.status) !== prev;
      },
      'status',
    );
  }

  // ---------------------------------------------------------------- stop

  private async terminate(st: PodState): Promise<void> {
    const pod = st.pod;
    st.terminating = true;
    if (st.retryTimer) clearTimeout(st.retryTimer);
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    await this.teardown(st, grace);
    // Resources reclaimed: the kubelet's final delete (grace 0, guarded by uid).
    try {
      this.o.store.delete('core/pods', pod.metadata.namespace, pod.metadata.name, { gracePeriodSeconds: 0, preconditions: { uid: st.uid } });
    } catch (err) {
      if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
    }
    this.pods.delete(st.key);
  }

  /** Stop containers (SIGTERM, SIGKILL after grace), unmount volumes, detach when last, remove the sandbox. */
  private async teardown(st: PodState, grace: number): Promise<void> {
    const running = [...st.containers.values()].filter((c) => c.handle?.running);
    for (const cs of st.containers.values()) for (const t of cs.probeTimers) clearInterval(t);
    await Promise.all(
      running.map(async (cs) => {
        if (!st.gone) this.o.events.record({ kind: 'Pod', apiVersion: 'v1', name: st.pod.metadata.name, namespace: st.pod.metadata.namespace, uid: st.uid, fieldPath: `spec.containers{${cs.name}}` }, 'Normal', 'Killing', `Stopping container ${cs.name}`, SOURCE(this.o.name));
        const exit = await cs.handle!.stop(grace);
        cs.terminated = { exitCode: exit.exitCode, reason: exit.reason, startedAt: iso(cs.handle!.startedAt), finishedAt: iso(exit.finishedAt), containerID: `dkc://${cs.handle!.id}` };
      }),
    );
    const errors: string[] = [];
    for (const v of [...st.volumes].reverse()) {
      if (!v.flex) {
        st.volumes = st.volumes.filter((x) => x !== v);
        continue;
      }
      try {
        await this.o.flex.unmountPod(v.flex.plugin, v.flex.pv, v.flex.podDir);
        const stillUsed = [...this.pods.values()].some((o) => o !== st && o.volumes.some((x) => x.flex?.pv === v.flex!.pv));
        if (!stillUsed) {
          await this.o.flex.unmountDeviceAndDetach(v.flex.plugin, v.flex.pv);
          this.setInUse(v.flex.uniqueName, false);
          this.o.attachments.release(v.flex.pv, this.o.name);
        }
        st.volumes = st.volumes.filter((x) => x !== v);
      } catch (err) {
        errors.push((err as Error).message);
        if (!st.gone) this.o.events.record(st.pod, 'Warning', 'FailedUnMount', `UnmountVolume.TearDown failed for volume "${v.flex.pv}" : ${(err as Error).message}`, SOURCE(this.o.name));
      }
    }
    if (errors.length) {
      // The pod stays Terminating until its volumes are gone, as the real kubelet keeps it.
      st.retryTimer = undefined;
      this.retryLater(st, 5);
      throw new Error(`volume teardown failed: ${errors.join('; ')}`);
    }
    if (st.net) {
      await this.o.network.removePod(st.net.podKey);
      st.net = undefined;
    }
    await rm(join(this.o.kubeletRoot, 'pods', st.uid), { recursive: true, force: true });
  }

  /** The running container for exec/logs. */
  container(podUid: string, name: string): RunningContainer | undefined {
    for (const st of this.pods.values()) if (st.uid === podUid) return st.containers.get(name)?.handle;
    return undefined;
  }

  /** Stop everything this kubelet runs (cluster teardown): containers killed at once, volumes torn down. */
  async shutdown(): Promise<string[]> {
    this.stopped = true;
    this.stopWatch?.();
    if (this.probeTimer) clearInterval(this.probeTimer);
    const problems: string[] = [];
    for (const st of [...this.pods.values()]) {
      st.gone = true;
      if (st.retryTimer) clearTimeout(st.retryTimer);
      await this.teardown(st, 2).catch((err: unknown) => problems.push(`${st.key}: ${(err as Error).message}`));
      this.pods.delete(st.key);
    }
    return problems;
  }
}

const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** CrashLoopBackOff: 10 s doubling to 5 min. */
const backoff = (restarts: number) => Math.min(300, 10 * 2 ** Math.max(0, restarts - 1));

const SIGNUM: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
const signalNumber = (s: string) => SIGNUM[s] ?? 0;

/** kubelet's $(VAR) expansion in env values, command and args; $$ escapes. */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : name !== undefined && name in env ? env[name]! : m));
}
