/**
 * The FlexVolume wire as each emulated kubelet version speaks it: version profiles (argv shapes and JSON keys per
 * release of kubelet's pkg/volume/flexvolume), kubelet's rules for reading a driver's output and its fallback
 * decisions when a driver answers "Not supported". Shared by flex-sanity (harness/) and the embedded cluster's node agent (clusters/embedded).
 */

/** What one emulated kubelet version sends. Only what changes the wire is modelled. */
export interface K8sProfile {
  /** Profile name, `v1.32`. */
  version: string;
  /** Exact release the shapes are taken from, for reports. */
  release: string;
  /** 1.2-1.5 API: attach <json>, mount <dir> <device> <json>, detach <device>; no node name, no waitforattach/mountdevice. */
  legacy: boolean;
  /** kubernetes.io/pvOrVolumeName on every JSON call (1.6.5+). */
  pvName: boolean;
  /** pod.name/namespace/uid and serviceAccount.name on mount (1.7+). */
  podInfo: boolean;
  /** Secrets base64-encoded on mount (1.6+); raw before. */
  base64Secrets: boolean;
  /** Where the pod's fsGroup goes on mount: kubernetes.io/fsGroup (1.6-1.14), kubernetes.io/mounterArgs.FsGroup (1.15+). */
  fsGroupKey: 'kubernetes.io/fsGroup' | 'kubernetes.io/mounterArgs.FsGroup';
  /** 1.6-era isattached <node> <json>; later <json> <node>. */
  isattachedNodeFirst: boolean;
}

/** The call-out wire of one Kubernetes release (shared by flex-sanity and the embedded kubelet). */
export const wireProfile = (version: string, release: string, minor: number, patch = 0): K8sProfile => ({
  version,
  release,
  legacy: minor <= 5,
  pvName: minor > 6 || (minor === 6 && patch >= 5),
  podInfo: minor >= 7,
  base64Secrets: minor >= 6,
  fsGroupKey: minor >= 15 ? 'kubernetes.io/mounterArgs.FsGroup' : 'kubernetes.io/fsGroup',
  isattachedNodeFirst: minor === 6,
});

/** Oldest first. v1.6 is the 1.6.0-1.6.4 wire (no pvOrVolumeName yet). */
export const PROFILES: readonly K8sProfile[] = [
  wireProfile('v1.5', 'v1.5.8', 5),
  wireProfile('v1.6', 'v1.6.0', 6),
  wireProfile('v1.10', 'v1.10.13', 10),
  wireProfile('v1.20', 'v1.20.15', 20),
  wireProfile('v1.27', 'v1.27.16', 27),
  wireProfile('v1.32', 'v1.32.9', 32),
  wireProfile('v1.35', 'v1.35.0', 35),
];

/** Parse `v1.32,v1.35` (the `v` optional); unknown names throw with the known list. */
export function selectProfiles(spec: string | undefined): K8sProfile[] {
  if (spec === undefined || spec.trim() === '') return [...PROFILES];
  const out: K8sProfile[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const name = raw.startsWith('v') ? raw : `v${raw}`;
    const p = PROFILES.find((x) => x.version === name);
    if (!p) throw new Error(`unknown Kubernetes version '${raw}'; known profiles: ${PROFILES.map((x) => x.version).join(', ')}`);
    if (!out.includes(p)) out.push(p);
  }
  if (!out.length) throw new Error(`no Kubernetes version given; known profiles: ${PROFILES.map((x) => x.version).join(', ')}`);
  return out;
}

export const suiteLabel = (p: K8sProfile) => `${p.version} (emulated)`;
export const checkId = (p: K8sProfile, name: string) => `flex-sanity/${p.version}/${name}`;

/** A volume as the emulated PV describes it. */
export interface VolumeSpec {
  pvName: string;
  fsType: string;
  readOnly: boolean;
  /** flexVolume.options: merged last, so they override kubelet's keys (as kubelet does). */
  options: Record<string, string>;
}

export interface PodSpec {
  name: string;
  namespace: string;
  uid: string;
  serviceAccount: string;
  fsGroup?: number;
}

/** The JSON options kubelet of this version passes; `mount` adds secrets, pod info and fsGroup. */
export function optionsFor(p: K8sProfile, v: VolumeSpec, call: 'attach' | 'isattached' | 'waitforattach' | 'mountdevice' | 'mount' | 'getvolumename', extra: { pod?: PodSpec; secrets?: Record<string, string> } = {}): Record<string, string> {
  const o: Record<string, string> = { 'kubernetes.io/fsType': v.fsType, 'kubernetes.io/readwrite': v.readOnly ? 'ro' : 'rw' };
  if (p.pvName) o['kubernetes.io/pvOrVolumeName'] = v.pvName;
  if (call === 'mount') {
    for (const [k, val] of Object.entries(extra.secrets ?? {})) o[`kubernetes.io/secret/${k}`] = p.base64Secrets ? Buffer.from(val).toString('base64') : val;
    if (extra.pod && p.podInfo) {
      o['kubernetes.io/pod.name'] = extra.pod.name;
      o['kubernetes.io/pod.namespace'] = extra.pod.namespace;
      o['kubernetes.io/pod.uid'] = extra.pod.uid;
      o['kubernetes.io/serviceAccount.name'] = extra.pod.serviceAccount;
    }
    if (extra.pod?.fsGroup !== undefined) o[p.fsGroupKey] = String(extra.pod.fsGroup);
  }
  return { ...o, ...v.options };
}

/** kubelet passes the options as one compact argv element (json.Marshal). */
export const jsonArg = (o: Record<string, string>) => JSON.stringify(o);

/** argv (after the executable) per call-out, in this version's shape. undefined: this version never makes the call. */
export const argvFor = {
  init: (): string[] => ['init'],
  getvolumename: (p: K8sProfile, json: string): string[] | undefined => (p.legacy ? undefined : ['getvolumename', json]),
  attach: (p: K8sProfile, json: string, node: string): string[] => (p.legacy ? ['attach', json] : ['attach', json, node]),
  isattached: (p: K8sProfile, json: string, node: string): string[] | undefined =>
    p.legacy ? undefined : p.isattachedNodeFirst ? ['isattached', node, json] : ['isattached', json, node],
  waitforattach: (p: K8sProfile, device: string, json: string): string[] | undefined => (p.legacy ? undefined : ['waitforattach', device, json]),
  mountdevice: (p: K8sProfile, dir: string, device: string, json: string): string[] | undefined => (p.legacy ? undefined : ['mountdevice', dir, device, json]),
  mount: (p: K8sProfile, dir: string, device: string, json: string): string[] => (p.legacy ? ['mount', dir, device, json] : ['mount', dir, json]),
  unmount: (dir: string): string[] => ['unmount', dir],
  unmountdevice: (p: K8sProfile, dir: string): string[] | undefined => (p.legacy ? undefined : ['unmountdevice', dir]),
  /** 1.6+: the PV (or inline volume) name and the node; 1.5: the device that was the source of the pod mount. */
  detach: (p: K8sProfile, pv: string, node: string, device: string): string[] => (p.legacy ? ['detach', device] : ['detach', pv, node]),
};

export interface DriverStatus {
  status: string;
  message?: string;
  device?: string;
  attached?: boolean;
  volumeName?: string;
  capabilities?: Record<string, unknown>;
}

/** How kubelet reads one call-out (driver-call.go handleCmdResponse), plus the stricter facts flex-sanity checks. */
export interface Outcome {
  kind: 'success' | 'not-supported' | 'failure' | 'bad-output' | 'driver-bug';
  /** The decoded answer, when the output was one JSON object. */
  status?: DriverStatus;
  /** kubelet's error text for anything but success / not-supported. */
  error?: string;
  /** Output rules broken even if kubelet happened to cope: anything on stderr, more than one line, trailing text. */
  violations: string[];
}

/** Go's decoder matches field names case-insensitively. */
function field(o: Record<string, unknown>, name: string): unknown {
  const k = Object.keys(o).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : o[k];
}

export function parseOutput(cmd: string, stdout: string, stderr: string, exitCode: number | null): Outcome {
  const violations: string[] = [];
  if (stderr.length) violations.push(`wrote to stderr: ${JSON.stringify(stderr.slice(0, 200))}`);
  // kubelet reads CombinedOutput(); the order of interleaving is not knowable here, so stdout then stderr.
  const combined = stdout + stderr;
  let v: unknown;
  try {
    v = JSON.parse(combined);
  } catch (err) {
    const text = JSON.stringify(combined.slice(0, 300));
    violations.push(`output is not one JSON object: ${text}`);
    return { kind: 'bad-output', error: `failed to unmarshal output for command: ${cmd}, output: ${text}, error: ${(err as Error).message}`, violations };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    violations.push(`output is JSON but not an object: ${JSON.stringify(combined.slice(0, 200))}`);
    return { kind: 'bad-output', error: `failed to unmarshal output for command: ${cmd}: not an object`, violations };
  }
  if (combined.trim().includes('\n')) violations.push('output spans more than one line (kubelet copes; the contract is one compact JSON line)');
  const o = v as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' ? x : undefined);
  const status: DriverStatus = { status: str(field(o, 'status')) ?? '' };
  const message = str(field(o, 'message'));
  if (message !== undefined) status.message = message;
  const device = str(field(o, 'device'));
  if (device !== undefined) status.device = device;
  const attached = field(o, 'attached');
  if (typeof attached === 'boolean') status.attached = attached;
  const volumeName = str(field(o, 'volumeName'));
  if (volumeName !== undefined) status.volumeName = volumeName;
  const caps = field(o, 'capabilities');
  if (caps && typeof caps === 'object' && !Array.isArray(caps)) status.capabilities = caps as Record<string, unknown>;
  if (status.status === 'Not supported') return { kind: 'not-supported', status, violations };
  if (status.status === 'Success') {
    if (exitCode !== 0) return { kind: 'driver-bug', status, error: `driver bug: ${cmd}: exec error (exit ${exitCode ?? 'signal'}) but no error in response`, violations };
    return { kind: 'success', status, violations };
  }
  return { kind: 'failure', status, error: `${cmd} command failed, status: ${status.status}, reason: ${status.message ?? ''}`, violations };
}

/**
 * What kubelet does itself when a call-out answers "Not supported" (§6), as data for the runner:
 * `value` is the result kubelet carries on with; `action` names what kubelet does on the node.
 */
export type Fallback =
  | { action: 'none'; device?: string; attached?: boolean }
  | { action: 'format-and-mount'; device: string; dir: string }
  | { action: 'bind-mount'; from: string; dir: string }
  | { action: 'mount-device'; device: string; dir: string }
  | { action: 'unmount'; dir: string };

export function fallbackFor(p: K8sProfile, cmd: string, args: { device?: string; dir?: string; globalDir?: string }): Fallback {
  switch (cmd) {
    case 'attach':
      return { action: 'none', device: '' };
    case 'waitforattach':
      return { action: 'none', device: args.device ?? '' };
    case 'mountdevice':
      return args.device ? { action: 'format-and-mount', device: args.device, dir: args.dir! } : { action: 'none' };
    case 'mount':
      // 1.5 mounts the attach device itself; 1.6+ bind-mounts the global device dir.
      if (p.legacy) return args.device ? { action: 'mount-device', device: args.device, dir: args.dir! } : { action: 'none' };
      return { action: 'bind-mount', from: args.globalDir!, dir: args.dir! };
    case 'unmount':
    case 'unmountdevice':
      return { action: 'unmount', dir: args.dir! };
    case 'isattached':
      return { action: 'none', attached: true };
    default:
      return { action: 'none' };
  }
}

