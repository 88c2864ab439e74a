/**
 * The kubelet's FlexVolume side for one node, with controller attach-detach disabled (so the node attaches and
 * detaches itself, as the Datera guide requires): plugin-dir probing (`init`, re-probed when a driver directory
 * changes, 1.8+), then per volume the call-out sequence of the emulated version from lib/flex-wire.ts —
 * attach, waitforattach, mountdevice (once per node, skipped when the global dir is already mounted), mount per
 * pod; teardown unmount, unmountdevice when the last pod on the node is gone, detach. "Not supported" answers get
 * kubelet's own fallbacks. Mount and device paths are the real kubelet ones under the node's root.
 */
import { readdir, mkdir, rmdir, stat, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../../lib/exec.js';
import { argvFor, fallbackFor, jsonArg, optionsFor, parseOutput, type DriverStatus, type K8sProfile, type Outcome, type PodSpec, type VolumeSpec } from '../../../lib/flex-wire.js';
import { mountAt, safeFormatAndMount } from '../../../lib/mounts.js';

export interface FlexCall {
  node: string;
  driver: string;
  argv: string[];
  outcome: Outcome;
  exitCode: number | null;
  ms: number;
  /** Start, in ms since the epoch (Date.now()): for measuring how much of a run is spent in call-outs. */
  at: number;
}

export interface FlexPlugin {
  /** `datera/iscsi` */
  name: string;
  executable: string;
  attachable: boolean;
  capabilities: Record<string, unknown>;
}

export interface FlexNodeOptions {
  nodeName: string;
  /** The node's kubelet root (its /var/lib/kubelet). */
  kubeletRoot: string;
  /** The node's FlexVolume plugin dir (its /usr/libexec/kubernetes/kubelet-plugins/volume/exec). */
  pluginDir: string;
  profile: K8sProfile;
  /** Environment the kubelet runs drivers with (PATH with the node's iscsiadm first, node roots). */
  env: NodeJS.ProcessEnv;
  onCall?: (c: FlexCall) => void;
}

export class FlexVolumeError extends Error {
  constructor(
    message: string,
    readonly op: string,
  ) {
    super(message);
    this.name = 'FlexVolumeError';
  }
}

export interface MountedFlexVolume {
  pv: string;
  device: string;
  globalDir: string;
  podDir: string;
}

/** One node's FlexVolume plugin manager and operation executor. */
export class FlexVolumes {
  private plugins = new Map<string, FlexPlugin>();
  private probedAt = new Map<string, number>();
  /** Per unique volume: serialise operations, as the operation executor does. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Attached here: pv -> device. */
  readonly attached = new Map<string, string>();

  constructor(readonly o: FlexNodeOptions) {}

  globalDir(driver: string, pv: string): string {
    return join(this.o.kubeletRoot, 'plugins/kubernetes.io/flexvolume', driver, 'mounts', pv);
  }

  podDir(podUid: string, driver: string, volName: string): string {
    return join(this.o.kubeletRoot, 'pods', podUid, 'volumes', driver.replace('/', '~'), volName);
  }

  /**
   * Scan the plugin dir: every `vendor~driver/driver` executable is a plugin, `init` decides whether it is usable
   * and attachable. Before 1.8 drivers are only found at kubelet start (`initialOnly`); from 1.8 a changed directory
   * is probed again (dynamic probing).
   */
  async probe(dynamic: boolean): Promise<FlexPlugin[]> {
    const dirs = await readdir(this.o.pluginDir, { withFileTypes: true }).catch(() => []);
    for (const d of dirs) {
      if (!d.isDirectory() || d.name.startsWith('.') || !d.name.includes('~')) continue;
      const name = d.name.replace('~', '/');
      const exe = join(this.o.pluginDir, d.name, d.name.split('~')[1]!);
      const mtime = await stat(join(this.o.pluginDir, d.name)).then((s) => s.mtimeMs, () => 0);
      const exeTime = await stat(exe).then((s) => s.mtimeMs, () => 0);
      const when = Math.max(mtime, exeTime);
      if (this.plugins.has(name) && (!dynamic || this.probedAt.get(name) === when)) continue;
      if (!(await access(exe, constants.X_OK).then(() => true, () => false))) continue;
      const out = await this.exec(name, exe, argvFor.init());
      this.probedAt.set(name, when);
      if (out.kind !== 'success') {
        this.plugins.delete(name);
        continue;
      }
      const caps = { attach: true, ...(out.status?.capabilities ?? {}) };
      // 1.6 treated every driver as attachable; the capability arrived in 1.7.
      const attachable = this.o.profile.podInfo ? caps.attach !== false : true;
      this.plugins.set(name, { name, executable: exe, attachable, capabilities: caps });
    }
    return [...this.plugins.values()];
  }

  plugin(name: string): FlexPlugin | undefined {
    return this.plugins.get(name);
  }

  private async exec(driver: string, exe: string, argv: string[]): Promise<Outcome> {
    const t0 = performance.now();
    const r = await run([exe, ...argv], { env: this.o.env, nothrow: true, timeoutMs: argv[0] === 'waitforattach' ? 600_000 : 300_000 });
    const outcome = parseOutput(argv[0] ?? '', r.stdout, r.stderr, r.exitCode);
    this.o.onCall?.({ node: this.o.nodeName, driver, argv, outcome, exitCode: r.exitCode, ms: performance.now() - t0, at: Date.now() - (performance.now() - t0) });
    return outcome;
  }

  /** One call-out with kubelet's fallbacks for "Not supported"; failures throw FlexVolumeError with kubelet's text. */
  private async call(p: FlexPlugin, argv: string[], ctx: { device?: string; dir?: string; globalDir?: string; fsType?: string; ro?: boolean } = {}): Promise<DriverStatus> {
    const out = await this.exec(p.name, p.executable, argv);
    if (out.kind === 'success') return out.status!;
    if (out.kind === 'not-supported') {
      const fb = fallbackFor(this.o.profile, argv[0]!, ctx);
      const mounted = fb.action !== 'none' && (await mountAt(fb.dir)) !== undefined;
      switch (fb.action) {
        case 'format-and-mount':
        case 'mount-device':
          if (!mounted) await safeFormatAndMount(fb.device, fb.dir, ctx.fsType ?? '', ctx.ro ?? false);
          break;
        case 'bind-mount':
          if (!mounted) {
            await run(['mount', '--bind', fb.from, fb.dir]);
            if (ctx.ro) await run(['mount', '-o', 'remount,bind,ro', fb.dir]);
          }
          break;
        case 'unmount':
          if (await mountAt(fb.dir)) await run(['umount', fb.dir]);
          break;
        case 'none':
          return { status: 'Success', ...(fb.device !== undefined ? { device: fb.device } : {}), ...(fb.attached !== undefined ? { attached: fb.attached } : {}) };
      }
      return { status: 'Success' };
    }
    throw new FlexVolumeError(out.error ?? `${argv[0]} failed`, argv[0] ?? '');
  }

  private serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  /**
   * Attach (node-side) and mount the device globally, once per node. `beforeAttach` lets the caller enforce the
   * cluster-wide multi-attach rule for RWO volumes (it throws to make the kubelet retry).
   */
  async attachAndMountDevice(p: FlexPlugin, v: VolumeSpec): Promise<{ device: string; globalDir: string }> {
    return this.serialised(v.pvName, async () => {
      const profile = this.o.profile;
      const global = this.globalDir(p.name, v.pvName);
      if (!p.attachable) return { device: '', globalDir: global };
      let device = this.attached.get(v.pvName);
      if (device === undefined) {
        const gv = argvFor.getvolumename(profile, jsonArg(optionsFor(profile, v, 'getvolumename')));
        if (gv) await this.exec(p.name, p.executable, gv);
        device = (await this.call(p, argvFor.attach(profile, jsonArg(optionsFor(profile, v, 'attach')), this.o.nodeName))).device ?? '';
        this.attached.set(v.pvName, device);
      }
      const wfa = argvFor.waitforattach(profile, device, jsonArg(optionsFor(profile, v, 'waitforattach')));
      if (wfa) device = (await this.call(p, wfa, { device })).device || device;
      const md = argvFor.mountdevice(profile, global, device, jsonArg(optionsFor(profile, v, 'mountdevice')));
      if (md) {
        await mkdir(global, { recursive: true, mode: 0o750 });
        if (!(await mountAt(global))) {
          try {
            await this.call(p, md, { device, dir: global, fsType: v.fsType, ro: v.readOnly });
          } catch (err) {
            await rmdir(global).catch(() => undefined);
            throw err;
          }
        }
      }
      return { device, globalDir: global };
    });
  }

  /** The per-pod mount; only this call gets secrets, pod info and fsGroup. */
  async mountPod(p: FlexPlugin, v: VolumeSpec, pod: PodSpec, volName: string, device: string, secrets: Record<string, string>): Promise<MountedFlexVolume> {
    return this.serialised(`${v.pvName}/${pod.uid}`, async () => {
      const global = this.globalDir(p.name, v.pvName);
      const podDir = this.podDir(pod.uid, p.name, volName);
      await mkdir(podDir, { recursive: true, mode: 0o750 });
      if (!(await mountAt(podDir))) {
        const json = jsonArg(optionsFor(this.o.profile, v, 'mount', { pod, secrets }));
        try {
          await this.call(p, argvFor.mount(this.o.profile, podDir, device, json), { device, dir: podDir, globalDir: global, fsType: v.fsType, ro: v.readOnly });
        } catch (err) {
          // kubelet removes the pod dir after a failed mount.
          await rmdir(podDir).catch(() => undefined);
          throw err;
        }
        if (!(await mountAt(podDir))) {
          await rmdir(podDir).catch(() => undefined);
          throw new FlexVolumeError(`mount answered Success but ${podDir} is not a mount point`, 'mount');
        }
      }
      return { pv: v.pvName, device, globalDir: global, podDir };
    });
  }

  async unmountPod(p: FlexPlugin, pv: string, podDir: string): Promise<void> {
    return this.serialised(`${pv}/${podDir}`, async () => {
      if (!(await exists(podDir))) return;
      if (await mountAt(podDir)) await this.call(p, argvFor.unmount(podDir), { dir: podDir });
      if (await mountAt(podDir)) throw new FlexVolumeError(`unmount answered Success but ${podDir} is still a mount point`, 'unmount');
      await rmdir(podDir).catch(() => undefined);
    });
  }

  /** After the last pod on this node let go: unmountdevice, then detach (the node does it: controller attach is off). */
  async unmountDeviceAndDetach(p: FlexPlugin, pv: string): Promise<void> {
    return this.serialised(pv, async () => {
      const profile = this.o.profile;
      const global = this.globalDir(p.name, pv);
      if (!p.attachable) return;
      const umd = argvFor.unmountdevice(profile, global);
      if (umd && (await mountAt(global))) {
        await this.call(p, umd, { dir: global });
        if (await mountAt(global)) throw new FlexVolumeError(`unmountdevice answered Success but ${global} is still a mount point`, 'unmountdevice');
      }
      await rmdir(global).catch(() => undefined);
      const device = this.attached.get(pv) ?? '';
      await this.call(p, argvFor.detach(profile, pv, this.o.nodeName, device));
      this.attached.delete(pv);
    });
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

