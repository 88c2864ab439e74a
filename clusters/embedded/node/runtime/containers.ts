/**
 * Node-side container runtime: containers are host processes in their own PID, mount and UTS namespaces, inside
 * the pod's network namespace, chrooted into a private tmpfs rootfs built from read-only binds of the host's
 * system directories (see setup-script.ts for the exact layout). Images come from the embedded catalog.
 *
 *   new ContainerRuntime({ nodeName, rootDir, logDir })
 *   runtime.start(spec: ContainerSpec): Promise<RunningContainer>     throws ImagePullError (ErrImagePull),
 *                                                                     ContainerStartError (RunContainerError)
 *   RunningContainer: id, pid (host pid of the main process), startedAt, imageID, logPath, rootfs
 *     wait(): Promise<ExitStatus>              exitCode (128+n after signal n), signal, finishedAt, reason
 *     stop(graceSeconds): Promise<ExitStatus>  SIGTERM to the main process, SIGKILL to all of it after the grace
 *     exec(argv, { stdin?, tty? }): ChildProcess   same namespaces, root and env as the container
 *     execCapture(argv, timeoutMs): Promise<ExecResult>
 *     logs(opts): Promise<string>; followLogs(opts): AsyncGenerator<string>
 *   containerLogDir(logDir, pod), readContainerLogs(logDir, pod, containerName, opts)   (kubelet's layout:
 *     <logDir>/<namespace>_<podName>_<podUid>/<containerName>/<attempt>.log)
 *
 * Why these choices: PID 1 of the container's PID namespace is a small bash reaper that reports the exact exit
 * status (util-linux 2.38 `unshare --fork` loses it when the child dies of a signal); killing that PID 1 kills
 * every process of the container, re-parented ones included, so nothing survives a stop. All mounts live only in
 * the container's mount namespace and vanish with it. cgroup v2 is not usable here (hybrid v1 hierarchy).
 * tty exec is not emulated (no pty allocation).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { Readable } from 'node:stream';
import { HarnessError } from '../../../../lib/errors.js';
import { run } from '../../../../lib/exec.js';
import { atMost } from '../../../../lib/wait.js';
import { DEFAULT_PATH, imageId, mergeEnv, resolveCommand, resolveImage, type CatalogEntry } from './catalog.js';
import { CriLogWriter, followCriLog, readCriLog, type LogOptions } from './cri-log.js';
import { buildSetupScript, type SetupMount } from './setup-script.js';

export interface VolumeMount {
  /** Host directory (or file) backing the volume. */
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
  /** Subdirectory of the volume; created when missing, as kubelet does. */
  subPath?: string;
}

export interface ContainerSpec {
  podUid: string;
  podName: string;
  namespace: string;
  containerName: string;
  image: string;
  command?: string[];
  args?: string[];
  /** Resolved by the caller; overlays the image's ENV. PATH and HOME get Docker's defaults when absent. */
  env: Record<string, string>;
  workingDir?: string;
  /** Network namespace name (under /run/netns). */
  netns: string;
  hostname: string;
  hostsFile: string;
  hostnameFile: string;
  resolvFile: string;
  mounts: VolumeMount[];
}

export interface ExitStatus {
  exitCode: number;
  signal: NodeJS.Signals | null;
  finishedAt: Date;
  /** Kubernetes' terminated reason: Completed (exit 0) or Error. */
  reason: 'Completed' | 'Error';
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface PodRef {
  namespace: string;
  podName: string;
  podUid: string;
}

export class ContainerStartError extends HarnessError {
  readonly reason = 'RunContainerError';
  constructor(message: string) {
    super('COMMAND_FAILED', message);
    this.name = 'ContainerStartError';
  }
}

const SIGNALS: Record<number, NodeJS.Signals> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };

export function containerLogDir(logDir: string, pod: PodRef, containerName: string): string {
  return join(logDir, `${pod.namespace}_${pod.podName}_${pod.podUid}`, containerName);
}

async function logAttempts(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .map((n) => /^(\d+)\.log$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Plain-text logs of the latest (or, with previous, the one before) instance of a container. */
export async function readContainerLogs(logDir: string, pod: PodRef, containerName: string, opts: LogOptions = {}): Promise<string> {
  const dir = containerLogDir(logDir, pod, containerName);
  const attempts = await logAttempts(dir);
  const n = attempts[attempts.length - (opts.previous ? 2 : 1)];
  if (n === undefined) {
    throw new HarnessError('BAD_INPUT', `${opts.previous ? 'previous terminated' : ''} container "${containerName}" in pod "${pod.podName}" has no logs`.trim());
  }
  return readCriLog(join(dir, `${n}.log`), opts);
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** Rejects subPaths Kubernetes rejects: absolute or climbing out with `..`. */
export function checkSubPath(subPath: string): string {
  const n = normalize(subPath);
  if (isAbsolute(subPath) || n === '..' || n.startsWith('../') || subPath.split('/').includes('..')) {
    throw new HarnessError('BAD_INPUT', `subPath "${subPath}" must be a relative path without ".."`);
  }
  return n;
}

export class RunningContainer {
  private status?: ExitStatus;
  private readonly exited: Promise<ExitStatus>;
  private killedBy: NodeJS.Signals | null = null;

  constructor(
    readonly id: string,
    readonly spec: ContainerSpec,
    readonly imageID: string,
    /** Host pid of the container's main process. */
    readonly pid: number,
    /** Host pid of the container's PID-namespace init (the reaper); killing it kills the container. */
    readonly initPid: number,
    readonly startedAt: Date,
    readonly logPath: string,
    readonly rootfs: string,
    private readonly workingDir: string,
    private readonly env: Record<string, string>,
    exitCode: Promise<number | null>,
    cleanup: () => Promise<void>,
  ) {
    this.exited = exitCode.then(async (code) => {
      await cleanup();
      const exit = code ?? (this.killedBy === 'SIGKILL' ? 137 : 255);
      this.status = {
        exitCode: exit,
        signal: exit > 128 ? (SIGNALS[exit - 128] ?? null) : null,
        finishedAt: new Date(),
        reason: exit === 0 ? 'Completed' : 'Error',
      };
      return this.status;
    });
  }

  get running(): boolean {
    return this.status === undefined;
  }

  wait(): Promise<ExitStatus> {
    return this.exited;
  }

  /** SIGTERM to the main process; after graceSeconds SIGKILL to it and then to the whole PID namespace. */
  async stop(graceSeconds: number): Promise<ExitStatus> {
    if (this.status) return this.status;
    kill(this.pid, 'SIGTERM');
    const graceful = await atMost(this.exited, graceSeconds * 1000);
    if (graceful) return graceful;
    this.killedBy = 'SIGKILL';
    kill(this.pid, 'SIGKILL');
    const reaped = await atMost(this.exited, 2000);
    if (reaped) return reaped;
    kill(this.initPid, 'SIGKILL');
    return this.exited;
  }

  private execArgv(argv: readonly string[]): string[] {
    if (argv.length === 0) throw new HarnessError('BAD_INPUT', 'exec needs a command');
    const env = Object.entries(this.env).map(([k, v]) => `${k}=${v}`);
    return ['nsenter', `--target=${this.initPid}`, '--mount', '--uts', '--net', '--pid', '--root', '/usr/bin/env', '-i', '-C', this.workingDir, ...env, ...argv];
  }

  /** A process in the container (same namespaces, root, working dir and env). tty is accepted but not emulated. */
  exec(argv: readonly string[], opts: { stdin?: boolean; tty?: boolean } = {}): ChildProcess {
    if (!this.running) throw new HarnessError('BAD_INPUT', `container ${this.spec.containerName} is not running`);
    const full = this.execArgv(argv);
    return spawn(full[0]!, full.slice(1), { env: {}, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
  }

  /** Runs argv in the container and collects its output; the whole exec is killed after timeoutMs. */
  execCapture(argv: readonly string[], timeoutMs: number, input?: string): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = this.exec(argv, { stdin: input !== undefined });
      } catch (e) {
        reject(e);
        return;
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        // nsenter and its forked child share the process group.
        if (child.pid) kill(-child.pid, 'SIGKILL');
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ exitCode: code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut });
      });
      if (input !== undefined) child.stdin!.end(input);
    });
  }

  /** Plain-text logs of this instance, or with previous of the instance before it. */
  logs(opts: LogOptions = {}): Promise<string> {
    if (opts.previous) return readContainerLogs(this.runtimeLogDir(), this.spec, this.spec.containerName, opts);
    return readCriLog(this.logPath, opts);
  }

  /** Lines as they come (existing ones first); ends when the container has exited and the log is drained. */
  followLogs(opts: LogOptions = {}): AsyncGenerator<string> {
    return followCriLog(this.logPath, opts, this.exited);
  }

  private runtimeLogDir(): string {
    // logPath = <logDir>/<pod dir>/<container>/<n>.log
    return join(this.logPath, '..', '..', '..');
  }
}

export interface RuntimeOptions {
  nodeName: string;
  /** Node state directory (container scratch dirs, shared busybox applets). */
  rootDir: string;
  /** Root of the pod log tree (kubelet's /var/log/pods). */
  logDir: string;
}

export class ContainerRuntime {
  private busyboxReady?: Promise<string>;
  private seq = 0;

  constructor(readonly opts: RuntimeOptions) {}

  private busyboxBin(): Promise<string> {
    this.busyboxReady ??= (async () => {
      const dir = join(this.opts.rootDir, 'busybox-bin');
      if (!existsSync(join(dir, 'sh'))) {
        await mkdir(dir, { recursive: true });
        await run(['busybox', '--install', '-s', dir]);
      }
      return dir;
    })();
    return this.busyboxReady;
  }

  private async systemDirs(): Promise<{ name: string; symlinkTo?: string }[]> {
    const out: { name: string; symlinkTo?: string }[] = [];
    for (const name of ['usr', 'bin', 'sbin', 'lib', 'lib64', 'lib32', 'libx32']) {
      const host = `/${name}`;
      if (!existsSync(host)) continue;
      out.push(lstatSync(host).isSymbolicLink() ? { name, symlinkTo: readlinkSync(host) } : { name });
    }
    return out;
  }

  private async volumeMounts(spec: ContainerSpec): Promise<SetupMount[]> {
    const out: SetupMount[] = [];
    for (const m of spec.mounts) {
      if (!isAbsolute(m.containerPath)) throw new HarnessError('BAD_INPUT', `mountPath "${m.containerPath}" must be absolute`);
      let source = m.hostPath;
      if (m.subPath) {
        source = join(m.hostPath, checkSubPath(m.subPath));
        if (!existsSync(source)) await mkdir(source, { recursive: true, mode: 0o777 });
      }
      const st = await stat(source).catch(() => undefined);
      if (!st) throw new ContainerStartError(`volume source ${source} for mountPath ${m.containerPath} does not exist`);
      out.push({ source, containerPath: m.containerPath, readOnly: m.readOnly ?? false, isFile: !st.isDirectory() });
    }
    return out;
  }

  async start(spec: ContainerSpec): Promise<RunningContainer> {
    const entry: CatalogEntry = resolveImage(spec.image);
    const argv = resolveCommand(entry, spec.command, spec.args);
    const env = mergeEnv(entry, spec.env);
    env.PATH ??= DEFAULT_PATH;
    env.HOME ??= '/root';
    const workingDir = spec.workingDir || entry.workingDir;
    if (!isAbsolute(workingDir)) throw new HarnessError('BAD_INPUT', `workingDir "${workingDir}" must be absolute`);
    if (!existsSync(`/run/netns/${spec.netns}`)) throw new ContainerStartError(`network namespace ${spec.netns} does not exist`);
    const [id, busyboxBin, systemDirs, mounts, imgId] = await Promise.all([
      Promise.resolve(`${spec.podUid.replace(/[^\w-]/g, '').slice(0, 12)}-${spec.containerName}-${process.pid}-${++this.seq}`),
      this.busyboxBin(),
      this.systemDirs(),
      this.volumeMounts(spec),
      imageId(entry),
    ]);
    const dir = join(this.opts.rootDir, 'containers', id);
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    const script = buildSetupScript({
      rootfs,
      scratch: join(dir, 'scratch'),
      hostname: spec.hostname,
      hostsFile: spec.hostsFile,
      hostnameFile: spec.hostnameFile,
      resolvFile: spec.resolvFile,
      systemDirs,
      imageOps: entry.prepare({ busyboxBin }),
      mounts,
      workingDir,
      env,
      argv,
      user: entry.user,
    });
    const scriptPath = join(dir, 'setup.sh');
    await writeFile(scriptPath, script);
    await chmod(scriptPath, 0o700);

    const logDir = containerLogDir(this.opts.logDir, spec, spec.containerName);
    await mkdir(logDir, { recursive: true });
    const attempts = await logAttempts(logDir);
    const logPath = join(logDir, `${(attempts[attempts.length - 1] ?? -1) + 1}.log`);
    const log = new CriLogWriter(logPath);

    const child = spawn(
      'nsenter',
      [`--net=/run/netns/${spec.netns}`, '--', 'unshare', '--pid', '--fork', '--kill-child', '--mount', '--uts', '--propagation', 'private', '--', '/bin/bash', scriptPath],
      { env: { PATH: DEFAULT_PATH }, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true },
    );
    const stdio = child.stdio as unknown as [null, Readable, Readable, Readable, Readable];
    stdio[1].on('data', (b: Buffer) => log.write('stdout', b));
    stdio[4].on('data', (b: Buffer) => log.write('stderr', b));
    let diag = '';
    stdio[2].on('data', (b: Buffer) => (diag += b.toString()));
    let statusText = '';
    let onStatus: () => void = () => {};
    stdio[3].on('data', (b: Buffer) => {
      statusText += b.toString();
      onStatus();
    });
    const closed = new Promise<number | null>((resolve) => {
      child.on('error', (e) => {
        diag += String(e);
        resolve(null);
      });
      child.on('close', async (code) => {
        await log.close();
        const m = /^exit (\d+)$/m.exec(statusText);
        resolve(m ? Number(m[1]) : code === 0 ? 0 : null);
      });
    });
    const cleanup = async () => {
      await rm(dir, { recursive: true, force: true });
    };
    const started = await new Promise<boolean>((resolve) => {
      onStatus = () => {
        if (/^started \d+$/m.test(statusText)) resolve(true);
      };
      void closed.then(() => resolve(false));
    });
    if (!started || !child.pid) {
      await closed;
      await cleanup();
      const why = `${statusText}\n${diag}`.trim().split('\n').slice(-6).join('\n');
      throw new ContainerStartError(`failed to start container "${spec.containerName}" of pod ${spec.namespace}/${spec.podName}: ${why || 'setup exited early'}`);
    }
    const startedAt = new Date();
    const [initPid] = await childrenOf(child.pid);
    const [mainPid] = initPid ? await childrenOf(initPid) : [];
    // A container that exits at once may be gone already: fall back to the pids still known.
    return new RunningContainer(
      id,
      spec,
      imgId,
      mainPid ?? initPid ?? child.pid,
      initPid ?? child.pid,
      startedAt,
      logPath,
      rootfs,
      workingDir,
      env,
      closed,
      cleanup,
    );
  }
}
