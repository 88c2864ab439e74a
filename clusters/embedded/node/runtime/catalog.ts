/**
 * The embedded image catalog. Images are never pulled: a reference is matched by repository name (the last path
 * component, any registry, tag or digest) to an entry that runs the host's own binaries with the image's
 * ENTRYPOINT/CMD/ENV/WORKDIR, plus the rootfs additions the image would carry.
 *
 *   resolveImage(ref): CatalogEntry             throws ImagePullError (reason ErrImagePull) for unknown images
 *   parseImageRef(ref): { repository, name, tag?, digest? }
 *   resolveCommand(entry, command?, args?): string[]   Kubernetes rules: command replaces ENTRYPOINT (and drops
 *                                                      CMD), args replace CMD
 *   imageId(entry): Promise<string>            `dkc-catalog://<name>@sha256:<sha256 of the host binary version>`
 */
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../../../../lib/errors.js';
import { run } from '../../../../lib/exec.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Docker's default PATH for images that do not set one. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** One addition to a container's rootfs, applied after the base mounts and before the volume mounts. */
export type RootfsOp =
  | { kind: 'bind'; hostPath: string; containerPath: string; readOnly: boolean }
  | { kind: 'dir'; containerPath: string; owner?: string; mode?: string };

export interface CatalogEntry {
  /** Catalog name: mariadb, mysql or busybox. */
  name: string;
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workingDir: string;
  user: string;
  /** argv whose output identifies the host binary (hashed into the imageID). */
  versionArgv: string[];
  /** Rootfs additions; `shared` is a per-node directory the runtime owns (for generated content). */
  prepare(shared: SharedDirs): RootfsOp[];
}

export interface SharedDirs {
  /** Directory holding busybox applet symlinks (made by the runtime with `busybox --install -s`). */
  busyboxBin: string;
}

export class ImagePullError extends HarnessError {
  readonly reason = 'ErrImagePull';
  constructor(readonly image: string) {
    super('BAD_INPUT', `failed to pull image "${image}": image not in the embedded catalog (known: ${KNOWN.join(', ')})`);
    this.name = 'ImagePullError';
  }
}

/**
 * The image's files are not TypeScript, so the build does not copy them: from dist/, use the source tree's copy
 * (the package ships both).
 */
export const MARIADB_IMAGE_DIR = join(here.replace(/[/\\]dist([/\\]clusters[/\\])/, '$1'), 'images', 'mariadb');

const mariadb: CatalogEntry = {
  name: 'mariadb',
  entrypoint: ['docker-entrypoint.sh'],
  cmd: ['mariadbd'],
  env: { PATH: DEFAULT_PATH, GOSU_VERSION: '1.17', LANG: 'C.UTF-8', MARIADB_VERSION: '10.11' },
  workingDir: '/',
  user: 'root',
  versionArgv: ['mariadbd', '--version'],
  prepare: () => [
    // The image's own config (binds 0.0.0.0, skips name resolution) instead of Debian's host config.
    { kind: 'bind', hostPath: join(MARIADB_IMAGE_DIR, 'etc-mysql'), containerPath: '/etc/mysql', readOnly: true },
    { kind: 'bind', hostPath: join(MARIADB_IMAGE_DIR, 'bin'), containerPath: '/usr/local/bin', readOnly: true },
    { kind: 'dir', containerPath: '/run/mysqld', owner: 'mysql:mysql', mode: '1777' },
    { kind: 'dir', containerPath: '/var/lib/mysql', owner: 'mysql:mysql', mode: '755' },
    { kind: 'dir', containerPath: '/docker-entrypoint-initdb.d', mode: '755' },
  ],
};

const catalog: Record<string, CatalogEntry> = {
  mariadb,
  // The mysql images are served by MariaDB as well: same entrypoint contract, MYSQL_* variables.
  mysql: { ...mariadb, name: 'mysql', cmd: ['mysqld'] },
  busybox: {
    name: 'busybox',
    entrypoint: [],
    cmd: ['sh'],
    env: { PATH: DEFAULT_PATH },
    workingDir: '/',
    user: 'root',
    versionArgv: ['busybox'],
    // Applets first on the default PATH, as in the image where /bin/sh etc. are busybox.
    prepare: (shared) => [{ kind: 'bind', hostPath: shared.busyboxBin, containerPath: '/usr/local/bin', readOnly: true }],
  },
};
// The PV recycler's image from 1.24 on (registry.k8s.io/debian-base): its scrub script needs only sh, test, ls,
// rm and find -delete, which the busybox applets give.
catalog['debian-base'] = { ...catalog.busybox!, name: 'debian-base' };

const KNOWN = Object.keys(catalog);

export interface ImageRef {
  /** Everything before the tag/digest, e.g. docker.io/library/mariadb. */
  repository: string;
  /** Last path component of the repository, e.g. mariadb. */
  name: string;
  tag?: string;
  digest?: string;
}

export function parseImageRef(ref: string): ImageRef {
  const trimmed = ref.trim();
  if (!trimmed || /\s/.test(trimmed)) throw new ImagePullError(ref);
  let rest = trimmed;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // A colon after the last slash is a tag; before it, a registry port.
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const name = rest.slice(rest.lastIndexOf('/') + 1).toLowerCase();
  if (!name) throw new ImagePullError(ref);
  return { repository: rest, name, tag, digest };
}

export function resolveImage(ref: string): CatalogEntry {
  const { name } = parseImageRef(ref);
  const entry = catalog[name];
  if (!entry) throw new ImagePullError(ref);
  return entry;
}

/** The process argv: Kubernetes' command/args rules over the image's ENTRYPOINT/CMD. */
export function resolveCommand(entry: Pick<CatalogEntry, 'entrypoint' | 'cmd'>, command?: readonly string[], args?: readonly string[]): string[] {
  const hasCommand = command !== undefined && command.length > 0;
  const hasArgs = args !== undefined && args.length > 0;
  const head = hasCommand ? [...command] : [...entry.entrypoint];
  const tail = hasArgs ? [...args] : hasCommand ? [] : [...entry.cmd];
  const argv = [...head, ...tail];
  if (argv.length === 0) throw new HarnessError('BAD_INPUT', 'no command specified: the image has no ENTRYPOINT/CMD and the container no command');
  return argv;
}

/** Container env: the image's defaults overlaid by the caller's (already resolved) variables. */
export function mergeEnv(entry: Pick<CatalogEntry, 'env'>, env: Readonly<Record<string, string>>): Record<string, string> {
  return { ...entry.env, ...env };
}

const idCache = new Map<string, Promise<string>>();

export function imageId(entry: CatalogEntry): Promise<string> {
  let p = idCache.get(entry.name);
  if (!p) {
    p = run(entry.versionArgv, { nothrow: true, timeoutMs: 10_000 }).then((r) => {
      const version = (r.stdout || r.stderr).split('\n')[0]!.trim();
      return `dkc-catalog://${entry.name}@sha256:${createHash('sha256').update(version).digest('hex')}`;
    });
    idCache.set(entry.name, p);
  }
  return p;
}
