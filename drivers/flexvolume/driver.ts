/**
 * The reference FlexVolume driver for `datera/iscsi`: `callout(argv, env)` parses one kubelet/KCM call-out (every
 * argv shape from 1.5 to today, as kubelet's pkg/volume/flexvolume sends them) and answers a DriverStatus. It never prints:
 * main.ts owns stdout. Logs go to DATERA_FLEX_LOG (JSON lines, secrets redacted) and nowhere else.
 *
 * Environment: DATERA_CREDENTIALS_FILE (node credentials {server,user,password}), DATERA_FLEX_STATE_DIR
 * (/var/lib/datera-flex), DATERA_FLEX_LOG, DKC_ISCSI_ROOT (node root for initiatorname and /dev/disk links),
 * DKC_KUBELET_ROOT (/var/lib/kubelet), DATERA_FLEX_DEVICE_TIMEOUT (seconds to wait for a device, 60),
 * DATERA_FLEX_API_RETRY_MS (retry budget for a refusing API, 10000), NODE_NAME (node name when kubelet gives none).
 */
import { mkdir, readFile, rmdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { HarnessError, errorMessage } from '../../lib/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { Backend, type AppInstance, type CreateSpec, type Credentials } from './backend.js';
import { bindMount, devRoot, findDevice, formatAndMount, iscsiLogin, iscsiLogout, mountAt, readInitiatorName, unmountIfMounted, waitForDevice, type Env } from './node-ops.js';
import { StateStore, type VolumeState } from './state.js';

export type { Env } from './node-ops.js';

export interface DriverStatus {
  status: 'Success' | 'Failure' | 'Not supported';
  message?: string;
  device?: string;
  attached?: boolean;
  capabilities?: Record<string, boolean>;
}

export type Options = Record<string, string>;

/** One parsed call-out. `legacy` marks the 1.5-era shapes (no node name, secrets not base64). */
export type Call =
  | { cmd: 'init' }
  | { cmd: 'attach'; opts: Options; node?: string }
  | { cmd: 'isattached'; opts: Options; node: string }
  | { cmd: 'detach'; pv?: string; device?: string; node?: string }
  | { cmd: 'waitforattach'; device: string; opts: Options }
  | { cmd: 'mountdevice'; dir: string; device: string; opts: Options }
  | { cmd: 'unmountdevice'; dir: string }
  | { cmd: 'mount'; dir: string; device?: string; opts: Options; legacy: boolean }
  | { cmd: 'unmount'; dir: string }
  | { cmd: 'unsupported'; name: string };

const bad = (msg: string) => new HarnessError('BAD_INPUT', msg);

/** kubelet sends map[string]string as one compact JSON argument. */
export function parseJsonOptions(arg: string | undefined, cmd: string): Options {
  if (arg === undefined) throw bad(`${cmd}: the JSON options argument is missing; kubelet passes it as one argv element, e.g. ${cmd} ... '{"volumeID":"vol1"}'`);
  let v: unknown;
  try {
    v = JSON.parse(arg);
  } catch (err) {
    throw bad(`${cmd}: the options argument is not valid JSON (${errorMessage(err)}); pass one JSON object, e.g. '{"volumeID":"vol1"}'`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${cmd}: the options argument must be a JSON object of strings, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  const out: Options = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || typeof x === 'object') throw bad(`${cmd}: option ${k} must be a string, got ${x === null ? 'null' : 'an object'}; flexVolume options are a map of strings`);
    out[k] = String(x);
  }
  return out;
}

const isJson = (a: string | undefined) => a !== undefined && a.trimStart().startsWith('{');

function need(argv: string[], n: number, usage: string): void {
  const missing = argv.slice(1, n + 1).findIndex((a) => a === undefined || a === '');
  if (argv.length - 1 < n || missing >= 0) throw bad(`${argv[0]}: expected ${usage}, got ${argv.length - 1} argument(s)`);
}

/** Parse argv (after the executable) into a Call, accepting every version's shape. */
export function parseArgv(argv: string[]): Call {
  const [cmd, a1, a2, a3] = argv;
  switch (cmd) {
    case 'init':
      return { cmd };
    case 'attach':
      // 1.6+: attach <json> <node>; 1.5: attach <json>.
      return { cmd, opts: parseJsonOptions(a1, cmd), node: a2 || undefined };
    case 'isattached': {
      // Current: <json> <node>; 1.6-era: <node> <json>. The JSON one starts with `{`.
      if (a1 === undefined || a2 === undefined) throw bad(`isattached: expected <json options> <node name> (or 1.6's <node name> <json options>), got ${argv.length - 1} argument(s)`);
      const [json, node] = isJson(a1) ? [a1, a2] : [a2, a1];
      return { cmd, opts: parseJsonOptions(json, cmd), node };
    }
    case 'detach':
      // 1.6+: detach <pvOrVolumeName> <node>; 1.5: detach <device> (the source of the pod mount).
      need(argv, 1, '<pv name> <node name> (or 1.5\'s <device>)');
      if (a2 === undefined && a1!.startsWith('/')) return { cmd, device: a1 };
      return { cmd, pv: a1, node: a2 };
    case 'waitforattach':
      if (a1 === undefined) throw bad('waitforattach: expected <device path> <json options>, got no arguments');
      return { cmd, device: a1, opts: parseJsonOptions(a2, cmd) };
    case 'mountdevice':
      need(argv, 1, '<global mount dir> <device path> <json options>');
      if (a2 === undefined) throw bad('mountdevice: expected <global mount dir> <device path> <json options>, got 1 argument');
      return { cmd, dir: a1!, device: a2, opts: parseJsonOptions(a3, cmd) };
    case 'unmountdevice':
      need(argv, 1, '<global mount dir>');
      return { cmd, dir: a1! };
    case 'mount':
      need(argv, 1, '<pod mount dir> <json options> (or 1.5\'s <pod mount dir> <device> <json options>)');
      if (a3 !== undefined || (a2 !== undefined && !isJson(a2))) return { cmd, dir: a1!, device: a2, opts: parseJsonOptions(a3, cmd), legacy: true };
      return { cmd, dir: a1!, opts: parseJsonOptions(a2, cmd), legacy: false };
    case 'unmount':
      need(argv, 1, '<pod mount dir>');
      return { cmd, dir: a1! };
    case undefined:
    case '':
      return { cmd: 'unsupported', name: '' };
    default:
      // getvolumename (ignored by kubelet since 1.6.5), expandvolume/expandfs (requiresFSResize is false), anything newer.
      return { cmd: 'unsupported', name: cmd };
  }
}

/** What the driver understands from the options, with the guide's defaults. */
export interface VolumeOptions extends CreateSpec {
  key: string;
  tenant: string;
  retainPolicy: 'never' | 'retain';
  fsType: string;
  readOnly: boolean;
}

const AI_NAME = /^[a-zA-Z_][a-zA-Z0-9_\-.]{2,63}$/;

function intOpt(o: Options, name: string, min: number, max: number, what: string): number | undefined {
  const v = o[name]?.trim();
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw bad(`option ${name}="${o[name]}" is not valid: it must be ${what} (an integer ${min}-${max})`);
  return Number(v);
}

/** The Datera name for a PV without volumeID: `k8s-<pv>` cut to 64 characters (a hash keeps long names unique). */
export function derivedAiName(pv: string): string {
  const clean = `k8s-${pv}`.replace(/[^a-zA-Z0-9_\-.]/g, '-');
  if (clean.length <= 64) return clean;
  let h = 0;
  for (const ch of pv) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return `${clean.slice(0, 55)}-${h.toString(16).padStart(8, '0')}`;
}

export function parseOptions(o: Options): VolumeOptions {
  const pv = o['kubernetes.io/pvOrVolumeName'] || undefined;
  const volumeID = o.volumeID?.trim() || undefined;
  if (!pv && !volumeID) throw bad('neither volumeID nor kubernetes.io/pvOrVolumeName is set; set volumeID in the PV\'s flexVolume.options (kubelets before 1.6.5 do not send the PV name)');
  const aiName = volumeID ?? derivedAiName(pv!);
  if (!AI_NAME.test(aiName)) throw bad(`volumeID "${aiName}" is not a valid Datera volume name: 3-64 characters, letters, digits, _ - . and not starting with a digit, - or .`);
  const retain = (o.retainPolicy ?? 'retain').trim().toLowerCase() || 'retain';
  if (retain !== 'never' && retain !== 'retain') throw bad(`option retainPolicy="${o.retainPolicy}" is not valid: use never (delete the Datera volume on detach) or retain`);
  const fsType = (o['kubernetes.io/fsType'] || o.fsType || 'xfs').trim();
  if (!/^[a-z0-9]{2,16}$/.test(fsType)) throw bad(`fsType "${fsType}" is not valid: name a filesystem with a mkfs.<type> on the node, e.g. xfs or ext4`);
  const rw = (o['kubernetes.io/readwrite'] ?? 'rw').trim() || 'rw';
  if (rw !== 'ro' && rw !== 'rw') throw bad(`kubernetes.io/readwrite="${rw}" is not valid: ro or rw`);
  const template = o.template?.trim() || undefined;
  return {
    key: pv ?? volumeID!,
    aiName,
    size: intOpt(o, 'size', 1, 32768, 'the size in GiB'),
    replica: intOpt(o, 'replica', 1, 5, 'the replica count') ?? 3,
    template,
    maxIops: intOpt(o, 'maxIops', 0, 10_000_000, 'total IOPS (0 = unlimited)'),
    maxBW: intOpt(o, 'maxBW', 0, 10_240_000, 'total bandwidth in KiB/s (0 = unlimited)'),
    ipPool: o.ipPool?.trim() || 'default',
    placementMode: o.placementMode?.trim() || 'hybrid',
    tenant: o.tenant?.trim() || '/root',
    retainPolicy: retain,
    volumeSource: o.volumeSource?.trim() || undefined,
    fsType,
    readOnly: rw === 'ro',
  };
}

function decodeSecret(key: string, value: string, raw: boolean): string {
  if (raw) return value;
  const v = value.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0)
    throw bad(`secret key ${key} is not base64 (kubelet 1.6+ passes secret values base64-encoded); check the secret of type datera/iscsi`);
  const text = Buffer.from(v, 'base64').toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text.replace(/\n$/, ''))) throw bad(`secret key ${key} does not decode to text; store the plain value in the secret's data (kubectl base64-encodes it once)`);
  return text.replace(/\n$/, '');
}

async function nodeCredentials(env: Env): Promise<Credentials | undefined> {
  const file = env.DATERA_CREDENTIALS_FILE;
  if (!file) return undefined;
  let v: { server?: unknown; user?: unknown; password?: unknown };
  try {
    v = JSON.parse(await readFile(file, 'utf8')) as typeof v;
  } catch (err) {
    throw new HarnessError('BAD_CONFIG', `DATERA_CREDENTIALS_FILE=${file} cannot be read as JSON (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}); write {"server":"host:7717","user":"...","password":"..."} there or unset it`);
  }
  const missing = (['server', 'user', 'password'] as const).filter((k) => typeof v[k] !== 'string' || !v[k]);
  if (missing.length) throw new HarnessError('BAD_CONFIG', `DATERA_CREDENTIALS_FILE=${file} lacks ${missing.join(', ')}; it must hold {"server":"host:7717","user":"...","password":"..."}`);
  return { server: v.server as string, user: v.user as string, password: v.password as string, source: `node credentials file ${file}` };
}

/**
 * Credentials in order: a secret (mount only), inline PV options (1.5-era, clear text), the node credentials file.
 * undefined when none is available (attach then defers to mount).
 */
export async function resolveCredentials(o: Options, env: Env, rawSecrets = false): Promise<Credentials | undefined> {
  const sec = (k: string) => o[`kubernetes.io/secret/${k}`];
  if (sec('username') !== undefined || sec('password') !== undefined) {
    const missing = ['username', 'password'].filter((k) => !sec(k));
    if (missing.length) throw new HarnessError('BAD_CONFIG', `the secret lacks ${missing.join(' and ')}; the secret of type datera/iscsi needs username, password and server`);
    const user = decodeSecret('username', sec('username')!, rawSecrets);
    const password = decodeSecret('password', sec('password')!, rawSecrets);
    const server = sec('server') ? decodeSecret('server', sec('server')!, rawSecrets) : o.backstoreServer || (await nodeCredentials(env))?.server;
    if (!server) throw new HarnessError('BAD_CONFIG', 'the secret lacks server; add server ("host:7717") to the secret of type datera/iscsi');
    return { server, user, password, source: 'secret (kubernetes.io/secret/username, password, server)' };
  }
  const inline = ['backstoreServer', 'serverUser', 'serverPasswd'].filter((k) => o[k]);
  if (inline.length === 3) return { server: o.backstoreServer!, user: o.serverUser!, password: o.serverPasswd!, source: 'inline PV options backstoreServer, serverUser, serverPasswd' };
  if (inline.length) {
    const missing = ['backstoreServer', 'serverUser', 'serverPasswd'].filter((k) => !o[k]);
    throw new HarnessError('BAD_CONFIG', `inline credentials are incomplete: ${missing.join(', ')} missing; set all three or use a secretRef of type datera/iscsi`);
  }
  return nodeCredentials(env);
}

/** Everything a call-out needs from its environment. */
interface Ctx {
  env: Env;
  log: Logger;
  store: StateStore;
  kubeletRoot: string;
  deviceTimeoutMs: number;
  retryMs: number;
  secrets: string[];
}

const INIT_CAPABILITIES = {
  // attach: true, because kubelet's --enable-controller-attach-detach=false mode (the one Datera's guide requires)
  // then calls attach/waitforattach/mountdevice on the node, which lets one global mount serve every pod.
  attach: true,
  // selinuxRelabel: true (the default): the volume is a real block filesystem, so the runtime can relabel it.
  selinuxRelabel: true,
  // fsGroup: true: xfs/ext4 honour chown, so kubelet should apply the pod's fsGroup after mount.
  fsGroup: true,
  // supportsMetrics: false: nothing measured; kubelet's statfs would work but the reference keeps the default.
  supportsMetrics: false,
  // requiresFSResize: false: expandvolume/expandfs are not implemented (and the expand controller never calls flex).
  requiresFSResize: false,
};

const globalDirFor = (ctx: Ctx, key: string) => join(ctx.kubeletRoot, 'plugins/kubernetes.io/flexvolume/datera/iscsi/mounts', key);

function nodeName(ctx: Ctx, given?: string): string {
  return given || ctx.env.NODE_NAME || hostname();
}

function newState(ctx: Ctx, v: VolumeOptions, node: string, creds?: Credentials): VolumeState {
  return {
    key: v.key,
    aiName: v.aiName,
    tenant: v.tenant,
    server: creds?.server,
    user: creds?.user,
    password: creds?.password,
    credSource: creds?.source,
    node,
    portals: [],
    retainPolicy: v.retainPolicy,
    fsType: v.fsType,
    readOnly: v.readOnly,
    podDirs: [],
    attached: false,
  };
}

function backendFor(ctx: Ctx, creds: Credentials, tenant: string): Backend {
  ctx.secrets.push(creds.password);
  return new Backend(creds, tenant, ctx.retryMs);
}

function stateCreds(s: VolumeState): Credentials | undefined {
  return s.server && s.user && s.password ? { server: s.server, user: s.user, password: s.password, source: s.credSource ?? 'recorded credentials' } : undefined;
}

/** Create (if missing), ACL, online, login on every portal, find the device. Idempotent. */
async function attachVolume(ctx: Ctx, v: VolumeOptions, creds: Credentials, node: string): Promise<VolumeState> {
  const prev = await ctx.store.load(v.key);
  const state: VolumeState = { ...newState(ctx, v, node, creds), ...(prev ? { podDirs: prev.podDirs, globalDir: prev.globalDir, stagingDir: prev.stagingDir } : {}) };
  const be = backendFor(ctx, creds, v.tenant);
  try {
    const initiator = await readInitiatorName(ctx.env);
    const ai = await be.ensureVolume(v);
    await be.ensureInitiator(initiator, node);
    await be.aclAdd(ai, initiator);
    await be.online(ai);
    const access = await be.waitAccess(ai);
    Object.assign(state, { initiator, iqn: access.iqn, portals: access.ips, volumeUuid: access.volumeUuid });
    // Save before login so a failed login can still be torn down.
    await ctx.store.save(state);
    ctx.log.info('logging in', { ai: v.aiName, iqn: access.iqn, portals: access.ips });
    await iscsiLogin(ctx.env, access.ips, access.iqn);
    const device = await waitForDevice(() => findDevice(ctx.env, access.ips, access.iqn, access.volumeUuid), ctx.deviceTimeoutMs);
    if (!device)
      throw new HarnessError('TIMEOUT', `logged in to ${access.iqn} but no device appeared under ${join(devRoot(ctx.env), 'dev/disk')} (by-uuid/${access.volumeUuid} or by-path/ip-*-lun-N) within ${ctx.deviceTimeoutMs} ms; check udev and the iSCSI session`);
    state.device = device;
    state.attached = true;
    await ctx.store.save(state);
    return state;
  } finally {
    await be.close();
  }
}

/** Logout, forget the node records, leave the ACL. The AI stays (detach decides about deletion). */
async function detachNode(ctx: Ctx, s: VolumeState): Promise<string> {
  if (s.iqn && s.portals.length) await iscsiLogout(ctx.env, s.portals, s.iqn);
  let note = '';
  const creds = stateCreds(s);
  if (creds && s.initiator) {
    const be = backendFor(ctx, creds, s.tenant);
    try {
      const ai = await be.getAi(s.aiName);
      if (ai) await be.aclRemove(ai, [s.initiator]);
    } finally {
      await be.close();
    }
  } else if (s.initiator) note = `; no credentials recorded, so ${s.initiator} stays in the ACL of ${s.aiName}`;
  s.attached = false;
  s.device = undefined;
  await ctx.store.save(s);
  return note;
}

async function findByDir(ctx: Ctx, dir: string, field: 'globalDir' | 'podDirs'): Promise<VolumeState | undefined> {
  const abs = resolve(dir);
  const hit = await ctx.store.find((s) => (field === 'globalDir' ? s.globalDir === abs : s.podDirs.includes(abs)));
  return hit ?? (await ctx.store.load(basename(abs)));
}

const ok = (message?: string, extra: Partial<DriverStatus> = {}): DriverStatus => ({ status: 'Success', ...(message ? { message } : {}), ...extra });

async function dispatch(ctx: Ctx, call: Call): Promise<DriverStatus> {
  switch (call.cmd) {
    case 'init':
      return { status: 'Success', capabilities: { ...INIT_CAPABILITIES } };
    case 'unsupported':
      return { status: 'Not supported', message: call.name ? `${call.name} is not implemented by datera/iscsi` : 'no call-out given' };

    case 'attach': {
      const v = parseOptions(call.opts);
      const creds = await resolveCredentials(call.opts, ctx.env);
      if (!creds) return ok(`no credentials before mount (secretRef volumes get them only at mount); attach of ${v.aiName} deferred to mount`, { device: '' });
      const s = await attachVolume(ctx, v, creds, nodeName(ctx, call.node));
      return ok(undefined, { device: s.device });
    }

    case 'isattached': {
      const v = parseOptions(call.opts);
      const creds = await resolveCredentials(call.opts, ctx.env);
      const local = await ctx.store.load(v.key);
      if (!creds) return ok('no credentials: answered from this node\'s records', { attached: Boolean(local?.attached && local.node === call.node) });
      const be = backendFor(ctx, creds, v.tenant);
      try {
        const ai = await be.getAi(v.aiName);
        if (!ai || ai.admin_state !== 'online') return ok(undefined, { attached: false });
        const want = `k8s-${call.node}`.replace(/[^a-zA-Z0-9_\-.]/g, '_');
        const names = await be.aclNames(ai);
        return ok(undefined, { attached: names.some((n) => n.name === want || (local?.node === call.node && n.iqn === local.initiator)) });
      } finally {
        await be.close();
      }
    }

    case 'waitforattach': {
      if (call.device === '') return ok('attach was deferred to mount', { device: '' });
      const d = await waitForDevice(async () => ((await exists(call.device)) ? call.device : undefined), ctx.deviceTimeoutMs);
      if (!d) throw new HarnessError('TIMEOUT', `device ${call.device} did not appear within ${ctx.deviceTimeoutMs} ms; check the iSCSI session (iscsiadm -m session) and udev`);
      return ok(undefined, { device: d });
    }

    case 'mountdevice': {
      const v = parseOptions(call.opts);
      const dir = resolve(call.dir);
      if (call.device === '') return ok(`no device (attach deferred); ${v.aiName} is mounted at pod mount time`);
      await mkdir(dir, { recursive: true, mode: 0o750 });
      await formatAndMount(call.device, dir, v.fsType, v.readOnly);
      const s = (await ctx.store.load(v.key)) ?? newState(ctx, v, nodeName(ctx));
      Object.assign(s, { globalDir: dir, pvName: basename(dir), device: s.device ?? call.device, fsType: v.fsType, readOnly: v.readOnly });
      await ctx.store.save(s);
      return ok();
    }

    case 'unmountdevice': {
      const dir = resolve(call.dir);
      await unmountIfMounted(dir);
      const s = await findByDir(ctx, dir, 'globalDir');
      if (!s) return ok('no record of this volume on this node; unmounted only');
      s.globalDir = undefined;
      const note = s.attached ? await detachNode(ctx, s) : '';
      await ctx.store.save(s);
      return ok(note ? note.slice(2) : undefined);
    }

    case 'mount':
      return mountPod(ctx, call);

    case 'unmount': {
      const dir = resolve(call.dir);
      await unmountIfMounted(dir);
      const s = await findByDir(ctx, dir, 'podDirs');
      if (!s) return ok();
      s.podDirs = s.podDirs.filter((p) => p !== dir);
      await ctx.store.save(s);
      if (s.podDirs.length === 0 && s.stagingDir && !s.globalDir) {
        await unmountIfMounted(s.stagingDir);
        await rmdir(s.stagingDir).catch(() => undefined);
        s.stagingDir = undefined;
        const note = s.attached ? await detachNode(ctx, s) : '';
        await ctx.store.save(s);
        return ok(note ? note.slice(2) : undefined);
      }
      return ok();
    }

    case 'detach':
      return detach(ctx, call);
  }
}

const exists = (p: string) => stat(p).then(() => true, () => false);

async function mountPod(ctx: Ctx, call: Extract<Call, { cmd: 'mount' }>): Promise<DriverStatus> {
  const v = parseOptions(call.opts);
  const dir = resolve(call.dir);
  const creds = await resolveCredentials(call.opts, ctx.env, call.legacy);
  if (await mountAt(dir)) return ok('already mounted');
  let s = await ctx.store.load(v.key);
  // mountdevice recorded where kubelet put the global mount; on the 1.6.0 wire (no pvOrVolumeName) that dir is named
  // after the PV while our key is the volumeID, so the recorded dir is the one to look at.
  const global = s?.globalDir ?? globalDirFor(ctx, v.key);
  let src: string;
  if (await mountAt(global)) {
    src = global;
  } else {
    // Deferred attach: no global mount, so this call (the only one with the secret) does the whole attach.
    if (!s?.attached || !s.device || !(await exists(s.device))) {
      if (!creds)
        throw new HarnessError('BAD_CONFIG', `no credentials for ${v.aiName}: give the PV a secretRef to a secret of type datera/iscsi (username, password, server), or set DATERA_CREDENTIALS_FILE on the node`);
      s = await attachVolume(ctx, v, creds, nodeName(ctx));
    }
    const staging = s.stagingDir ?? ctx.store.stagingDir(v.key);
    await mkdir(staging, { recursive: true, mode: 0o700 });
    await formatAndMount(s.device!, staging, v.fsType, v.readOnly);
    s.stagingDir = staging;
    src = staging;
  }
  await mkdir(dir, { recursive: true, mode: 0o750 });
  await bindMount(src, dir, v.readOnly);
  s ??= newState(ctx, v, nodeName(ctx), creds);
  if (!s.podDirs.includes(dir)) s.podDirs.push(dir);
  await ctx.store.save(s);
  return ok();
}

async function detach(ctx: Ctx, call: Extract<Call, { cmd: 'detach' }>): Promise<DriverStatus> {
  const s = call.device ? await ctx.store.find((x) => x.device === call.device || (x.device !== undefined && resolve(x.device) === resolve(call.device!))) : ((await ctx.store.load(call.pv!)) ?? (await ctx.store.find((x) => x.pvName === call.pv)));
  if (!s) return ok(`no record of ${call.pv ?? call.device} on this node; nothing to detach`);
  // kubelet detaches only after the last unmount; anything else would pull the disk from under a mounted filesystem.
  const inUse = [...s.podDirs, ...(s.globalDir ? [s.globalDir] : [])];
  if (inUse.length) return { status: 'Failure', message: `detach: ${s.aiName} is still mounted at ${inUse.join(', ')}; unmount (and unmountdevice) it first` };
  // 1.5's detach comes after the last unmount; tear down what is still attached.
  if (s.attached) await detachNode(ctx, s);
  const creds = stateCreds(s) ?? (await nodeCredentials(ctx.env));
  let message: string | undefined;
  if (s.retainPolicy === 'never') {
    if (!creds) return { status: 'Failure', message: `retainPolicy is never but no credentials are recorded for ${s.aiName}; set DATERA_CREDENTIALS_FILE on the node so detach can delete it` };
    const be = backendFor(ctx, creds, s.tenant);
    try {
      const ai: AppInstance | undefined = await be.getAi(s.aiName);
      if (ai && ai.storage_instances.every((si) => si.acl_policy.initiators.length === 0)) {
        await be.destroy(s.aiName);
        message = `deleted ${s.aiName} (retainPolicy never)`;
      } else if (ai) message = `${s.aiName} kept: other initiators remain in its ACL`;
    } finally {
      await be.close();
    }
  }
  await ctx.store.remove(s.key);
  return ok(message);
}

/** Run one call-out. Never throws: every error becomes a Failure whose message names the cause and the fix. */
export async function callout(argv: string[], env: Env = process.env): Promise<DriverStatus> {
  const secrets: string[] = [];
  const inner = createLogger({ file: env.DATERA_FLEX_LOG || undefined, bindings: { driver: 'datera/iscsi', pid: process.pid }, secrets: () => secrets });
  // A log file that cannot be written must not fail the call-out (nor print anything).
  const quiet =
    (f: (m: string, x?: Record<string, unknown>) => void) =>
    (m: string, x?: Record<string, unknown>) => {
      try {
        f(m, x);
      } catch {
        /* logging is best effort */
      }
    };
  const log: Logger = { info: quiet(inner.info), warn: quiet(inner.warn), error: quiet(inner.error), child: inner.child };
  const ctx: Ctx = {
    env,
    log,
    store: new StateStore(env.DATERA_FLEX_STATE_DIR || '/var/lib/datera-flex'),
    kubeletRoot: env.DKC_KUBELET_ROOT || '/var/lib/kubelet',
    deviceTimeoutMs: (Number(env.DATERA_FLEX_DEVICE_TIMEOUT) || 60) * 1000,
    retryMs: Number(env.DATERA_FLEX_API_RETRY_MS) || 10_000,
    secrets,
  };
  const started = Date.now();
  let result: DriverStatus;
  try {
    result = await dispatch(ctx, parseArgv(argv));
  } catch (err) {
    const msg = errorMessage(err);
    result = { status: 'Failure', message: argv[0] && !msg.startsWith(`${argv[0]}:`) ? `${argv[0]}: ${msg}` : msg };
  }
  log.info('call-out', { argv: argv.map((a) => (isJson(a) ? '<json>' : a)), status: result.status, message: result.message, ms: Date.now() - started });
  if (result.message) for (const s of secrets) if (s.length >= 3) result.message = result.message.split(s).join('[redacted]');
  return result;
}
