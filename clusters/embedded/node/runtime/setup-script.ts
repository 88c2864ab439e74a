/**
 * Generates the bash script that runs as PID 1 of a container's fresh PID+mount+UTS namespaces (already in the
 * pod's network namespace): it builds the private rootfs, starts the container's process chrooted into it as
 * PID 2 (so a missing SIGTERM handler does not make it immune, as with `docker run --init`), reaps orphans,
 * and reports on fd 3: `started <ns-pid>` then `exit <code>` (128+n for signal n), or `setup-failed <what>`.
 * The container's stdout/stderr are fd 1 and fd 4 of the script; the script's own stderr is fd 3.
 */
import type { RootfsOp } from './catalog.js';
import { shCommand, shq } from './shell.js';

export interface SetupMount {
  /** Host path (file or directory), subPath already applied. */
  source: string;
  containerPath: string;
  readOnly: boolean;
  /** True when the source is a file (a file mount point is created instead of a directory). */
  isFile: boolean;
}

export interface SetupSpec {
  rootfs: string;
  /** Private scratch dir (a tmpfs inside the container's mount namespace) for the overlays' upper layers. */
  scratch: string;
  hostname: string;
  hostsFile: string;
  hostnameFile: string;
  resolvFile: string;
  /** Host top-level directories to show read-only (besides /etc), and symlinks to replicate (usr-merged /bin). */
  systemDirs: { name: string; symlinkTo?: string }[];
  imageOps: RootfsOp[];
  mounts: SetupMount[];
  workingDir: string;
  env: Record<string, string>;
  argv: string[];
  user?: string;
}

/** Device nodes bound from the host into the minimal /dev. */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

export function buildSetupScript(s: SetupSpec): string {
  if (!s.rootfs.startsWith('/')) throw new Error(`rootfs must be absolute: ${s.rootfs}`);
  const R = '"$R"';
  const L: string[] = [];
  const p = (line: string) => L.push(line);
  const inRoot = (path: string) => `"$R"${shq(path)}`;
  p('#!/bin/bash');
  p('set -euo pipefail');
  p('exec 2>&3');
  p(`trap 'echo "setup-failed line $LINENO: $BASH_COMMAND" >&3' ERR`);
  p(`R=${shq(s.rootfs)}`);
  p('mount --make-rprivate /');
  p(`mount -t tmpfs -o mode=755 dkc-rootfs ${R}`);
  p(`hostname ${shq(s.hostname)}`);
  // System dirs are read-only overlays of the host's (upper layer on a private tmpfs): mount points for volumes
  // can be created under them (e.g. /etc/config), then each is remounted read-only before the container starts.
  p(`mkdir -p ${shq(s.scratch)} && mount -t tmpfs -o mode=700 dkc-scratch ${shq(s.scratch)}`);
  const overlays: string[] = [];
  for (const d of [...s.systemDirs, { name: 'etc' }]) {
    if (d.symlinkTo !== undefined) {
      p(`ln -s ${shq(d.symlinkTo)} ${inRoot(`/${d.name}`)}`);
      continue;
    }
    const up = shq(`${s.scratch}/${d.name}.up`);
    const wk = shq(`${s.scratch}/${d.name}.wk`);
    p(`mkdir -p ${inRoot(`/${d.name}`)} ${up} ${wk}`);
    p(`mount -t overlay -o ${shq(`lowerdir=/${d.name},upperdir=${s.scratch}/${d.name}.up,workdir=${s.scratch}/${d.name}.wk`)} dkc-${d.name} ${inRoot(`/${d.name}`)}`);
    overlays.push(d.name);
  }
  for (const [dir, mode] of [['/tmp', '1777'], ['/run', '755'], ['/var', '755']] as const) {
    p(`mkdir -p ${inRoot(dir)} && mount -t tmpfs -o mode=${mode},nosuid,nodev tmpfs ${inRoot(dir)}`);
  }
  p(`mkdir -p ${inRoot('/var/tmp')} && chmod 1777 ${inRoot('/var/tmp')}`);
  p(`mkdir -p ${inRoot('/proc')} && mount -t proc -o nosuid,nodev,noexec proc ${inRoot('/proc')}`);
  p(`mkdir -p ${inRoot('/sys')} && mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${inRoot('/sys')}`);
  p(`mkdir -p ${inRoot('/dev')} && mount -t tmpfs -o mode=755,nosuid dev ${inRoot('/dev')}`);
  for (const d of DEVICES) p(`touch ${inRoot(`/dev/${d}`)} && mount --bind ${shq(`/dev/${d}`)} ${inRoot(`/dev/${d}`)}`);
  p(`ln -s /proc/self/fd ${inRoot('/dev/fd')}`);
  for (const [i, n] of ['stdin', 'stdout', 'stderr'].entries()) p(`ln -s /proc/self/fd/${i} ${inRoot(`/dev/${n}`)}`);
  p(`mkdir -p ${inRoot('/dev/shm')} && mount -t tmpfs -o mode=1777,nosuid,nodev shm ${inRoot('/dev/shm')}`);
  p(`mkdir -p ${inRoot('/dev/pts')} && mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts ${inRoot('/dev/pts')}`);
  p(`ln -s pts/ptmx ${inRoot('/dev/ptmx')}`);
  // kubelet-managed files; writable as in Kubernetes.
  p(`mount --bind ${shq(s.hostsFile)} ${inRoot('/etc/hosts')}`);
  p(`mount --bind ${shq(s.hostnameFile)} ${inRoot('/etc/hostname')}`);
  p(`mount --bind ${shq(s.resolvFile)} ${inRoot('/etc/resolv.conf')}`);
  for (const op of s.imageOps) {
    const target = inRoot(op.containerPath);
    if (op.kind === 'bind') {
      p(`mkdir -p ${target} && mount --bind ${op.readOnly ? '-o ro ' : ''}${shq(op.hostPath)} ${target}`);
    } else {
      p(`mkdir -p ${target}`);
      if (op.owner) p(`chown ${shq(op.owner)} ${target}`);
      if (op.mode) p(`chmod ${shq(op.mode)} ${target}`);
    }
  }
  for (const m of s.mounts) {
    const target = inRoot(m.containerPath);
    if (m.isFile) p(`mkdir -p "$(dirname ${target})" && { [ -e ${target} ] || touch ${target}; }`);
    else p(`mkdir -p ${target}`);
    p(`mount --bind ${shq(m.source)} ${target}`);
    if (m.readOnly) p(`mount -o remount,bind,ro ${target}`);
  }
  p(`mkdir -p ${inRoot(s.workingDir)} 2>/dev/null || true`);
  for (const name of overlays) p(`mount -o remount,bind,ro ${inRoot(`/${name}`)}`);
  const env = Object.entries(s.env).map(([k, v]) => `${k}=${v}`);
  // env(1) would read a first word containing '=' as another assignment: run such commands through sh.
  const argv = s.argv[0]!.includes('=') ? ['/bin/sh', '-c', 'exec "$@"', 'sh', ...s.argv] : s.argv;
  const priv = s.user && s.user !== 'root' && s.user !== '0' ? ['setpriv', `--reuid=${s.user}`, `--regid=${s.user}`, '--init-groups', '--'] : [];
  const chain = shCommand(['/usr/bin/env', '-i', '-C', s.workingDir, ...env, ...priv, ...argv]);
  // The reaper itself moves into the rootfs, so `nsenter --target <init> --root` needs no race with the child.
  const reaper = [
    `( trap - INT QUIT; exec ${chain} 2>&4 3>&- 4>&- ) &`,
    'main=$!',
    'echo "started $main" >&3',
    // wait also reaps orphans re-parented to this PID 1; it returns once the main process has been waited for.
    'wait "$main"; rc=$?',
    'echo "exit $rc" >&3',
    'exit "$rc"',
  ].join('\n');
  p('trap - ERR');
  p(`cd ${R}`);
  p(`exec chroot ${R} /bin/bash -c ${shq(reaper)}`);
  return `${L.join('\n')}\n`;
}
