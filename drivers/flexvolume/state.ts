/**
 * Per-volume state on the node: what teardown needs after the call that set the volume up is gone (kubelet's later
 * call-outs carry no options, sometimes only a directory). One JSON file per volume, mode 0600 in a 0700 directory,
 * because it may hold the Datera credentials that came from a secret at mount time.
 */
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface VolumeState {
  /** The volume's key: the PV (or pod volume) name, else the volumeID. Also the file name. */
  key: string;
  aiName: string;
  tenant: string;
  server?: string;
  user?: string;
  password?: string;
  /** Where the credentials came from, for error messages ("secret", "inline options", the node file path). */
  credSource?: string;
  node: string;
  initiator?: string;
  iqn?: string;
  /** Portal IPs (port 3260). */
  portals: string[];
  volumeUuid?: string;
  device?: string;
  retainPolicy: 'never' | 'retain';
  fsType: string;
  readOnly: boolean;
  /** kubelet's global mount dir, when mountdevice mounted the volume there. */
  globalDir?: string;
  /** The PV name kubelet uses (the global dir's last segment): what detach names when key is the volumeID (1.6.0 wire). */
  pvName?: string;
  /** The driver's own mount, when attach was deferred to mount (no credentials before mount). */
  stagingDir?: string;
  /** Pod dirs bind-mounted from the global or staging dir: the last one out tears a staging mount down. */
  podDirs: string[];
  /** True while this node is logged in and listed in the ACL. */
  attached: boolean;
}

const safe = (key: string) => key.replace(/[^A-Za-z0-9_.-]/g, '_');

export class StateStore {
  constructor(readonly dir: string) {}

  private path(key: string) {
    return join(this.dir, 'volumes', `${safe(key)}.json`);
  }

  stagingDir(key: string): string {
    return join(this.dir, 'staging', safe(key));
  }

  async load(key: string): Promise<VolumeState | undefined> {
    try {
      return JSON.parse(await readFile(this.path(key), 'utf8')) as VolumeState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async save(s: VolumeState): Promise<void> {
    const dir = join(this.dir, 'volumes');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700).catch(() => undefined);
    const tmp = `${this.path(s.key)}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(s), { mode: 0o600 });
    await rename(tmp, this.path(s.key));
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  /** Every recorded volume (for lookups by pod dir, global dir or device). */
  async all(): Promise<VolumeState[]> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, 'volumes'));
    } catch {
      return [];
    }
    const out: VolumeState[] = [];
    for (const n of names.filter((x) => x.endsWith('.json'))) {
      const s = await this.load(n.slice(0, -5)).catch(() => undefined);
      if (s) out.push(s);
    }
    return out;
  }

  async find(pred: (s: VolumeState) => boolean): Promise<VolumeState | undefined> {
    return (await this.all()).find(pred);
  }
}
