/**
 * Binds storage instances to real iSCSI targets: backing files (sparse, size x 2^30 bytes) in the state
 * directory, and a target on the target host while the instance is online. Without a host ("api-only" mode, for
 * unit tests of the REST surface) the files are still made but nothing is exported.
 */
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import type { StartedTargetHost, TargetSession } from '../tgt/target-host.js';
import type { StorageInstance } from './model.js';

export const GiB = 2 ** 30;

/** tgt keeps LUN 0 for its controller, so volume i (0-based) is LUN i + 1. */
export const lunOf = (index: number) => index + 1;

export class IscsiBackend {
  constructor(
    readonly volumesDir: string,
    readonly host: StartedTargetHost | undefined,
    private readonly fallbackIps: string[],
    private readonly sessionCacheMs = 1000,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.volumesDir, { recursive: true });
  }

  /** Portal IPs (no port) reported in `access.ips`, VIP 1 first. */
  ips(): string[] {
    return this.host ? this.host.portals.map((p) => p.slice(0, p.lastIndexOf(':'))) : this.fallbackIps;
  }

  path(file: string): string {
    return join(this.volumesDir, file);
  }

  /** Create or grow a sparse backing file to exactly `gib` GiB. Never shrinks (Datera refuses shrinking). */
  async ensureFile(file: string, gib: number): Promise<void> {
    const fh = await open(this.path(file), 'a');
    try {
      const { size } = await fh.stat();
      if (size < gib * GiB) await fh.truncate(gib * GiB);
    } finally {
      await fh.close();
    }
  }

  async copy(src: string, dst: string): Promise<void> {
    // A full copy keeps point-in-time semantics; cp skips holes, so mostly-empty volumes copy in milliseconds.
    await run(['cp', '--sparse=always', '--reflink=auto', this.path(src), this.path(dst)], { timeoutMs: 600_000 });
  }

  async remove(file: string): Promise<void> {
    await rm(this.path(file), { force: true });
  }

  async exists(file: string): Promise<boolean> {
    return stat(this.path(file)).then(
      () => true,
      () => false,
    );
  }

  async online(si: StorageInstance, acl: string[]): Promise<void> {
    if (!this.host) return;
    this.invalidate();
    await this.host.createTarget({
      iqn: si.iqn,
      luns: si.volumes.map((v, i) => ({ lun: lunOf(i), backingFile: this.path(v.file), serial: v.uuid })),
      initiators: acl,
      chap:
        si.auth.type === 'none'
          ? undefined
          : {
              targetUser: si.auth.target_user_name,
              targetPassword: si.auth.target_pswd,
              ...(si.auth.type === 'mchap' ? { initiatorUser: si.auth.initiator_user_name, initiatorPassword: si.auth.initiator_pswd } : {}),
            },
    });
  }

  async offline(iqn: string): Promise<void> {
    this.invalidate();
    if (this.host) await this.host.deleteTarget(iqn);
  }

  async setAcl(iqn: string, acl: string[]): Promise<void> {
    this.invalidate();
    if (this.host) await this.host.setAcl(iqn, acl);
  }

  private cached: { at: number; value: Promise<Map<string, TargetSession[]>> } | undefined;

  /**
   * Active sessions per target IQN, as tgt reports them. Asking tgt costs a process spawn, so reads that only
   * decorate responses (active_initiators) share an answer up to `sessionCacheMs` old; decisions ask fresh.
   */
  sessions(opts: { fresh?: boolean } = {}): Promise<Map<string, TargetSession[]>> {
    const host = this.host;
    if (!host) return Promise.resolve(new Map());
    if (!opts.fresh && this.cached && Date.now() - this.cached.at < this.sessionCacheMs) return this.cached.value;
    const value = host.listTargets().then((ts) => new Map(ts.map((t) => [t.iqn, t.sessions] as const)));
    this.cached = { at: Date.now(), value };
    value.catch(() => (this.cached = undefined));
    return value;
  }

  private invalidate() {
    this.cached = undefined;
  }
}
