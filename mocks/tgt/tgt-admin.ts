/**
 * Drives one tgtd through tgtadm, shared by the process and container hosts (they differ only in how tgtadm is
 * reached). Keeps the desired targets so a restarted tgtd can be given them again: while the host is down,
 * changes are recorded and applied on the next `restore()`.
 */
import { stat } from 'node:fs/promises';
import { CommandError, HarnessError } from '../../lib/errors.js';
import type { ChapSpec, LunSpec, TargetSpec, TargetState } from './target-host.js';
import { parseShowTarget } from './tgtadm-parse.js';

export interface TgtadmResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Run tgtadm with these arguments; like lib/exec run(), throws CommandError on failure unless `nothrow`. */
export type Tgtadm = (args: readonly string[], opts?: { nothrow?: boolean; secrets?: readonly string[] }) => Promise<TgtadmResult>;

const SCSI_FIELD = /^[\x21-\x2b\x2d-\x7e]+$/; // printable, no space or comma (tgtadm --params splits on commas)

export class TgtAdmin {
  private readonly targets = new Map<string, { spec: TargetSpec; tid: number }>();
  /** CHAP accounts in the running tgtd, user -> password. tgt accounts are global, not per target. */
  private readonly accounts = new Map<string, string>();
  private nextTid = 1;
  private queue: Promise<unknown> = Promise.resolve();
  online = false;

  constructor(private readonly tgtadm: Tgtadm) {}

  async showTargets(): Promise<TargetState[]> {
    if (!this.online) return [];
    return parseShowTarget((await this.iscsi(['--op', 'show', '--mode', 'target'])).stdout);
  }

  async addPortal(portal: string): Promise<void> {
    await this.iscsi(['--op', 'new', '--mode', 'portal', '--param', `portal=${portal}`]);
  }

  async removePortal(portal: string): Promise<void> {
    await this.iscsi(['--op', 'delete', '--mode', 'portal', '--param', `portal=${portal}`]);
  }

  createTarget(spec: TargetSpec): Promise<void> {
    return this.serially(() => this.create(spec));
  }

  deleteTarget(iqn: string): Promise<void> {
    return this.serially(() => this.delete(iqn));
  }

  setAcl(iqn: string, initiators: string[]): Promise<void> {
    return this.serially(() => this.acl(iqn, initiators));
  }

  /** Delete every target (ending sessions) and account in the running tgtd; the desired state is forgotten. */
  deleteAll(): Promise<void> {
    return this.serially(async () => {
      for (const iqn of [...this.targets.keys()]) await this.delete(iqn);
      for (const x of await this.showTargets()) await this.delete(x.iqn);
    });
  }

  /** Give a freshly started (empty) tgtd every known target again, with the same tids. */
  restore(): Promise<void> {
    return this.serially(async () => {
      this.accounts.clear();
      this.online = true;
      for (const { spec, tid } of [...this.targets.values()].sort((a, b) => a.tid - b.tid)) await this.apply(spec, tid);
    });
  }

  /** One change at a time: a target's tgtadm steps and the global CHAP accounts must not interleave. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async create(spec: TargetSpec): Promise<void> {
    validate(spec);
    spec = { ...structuredClone(spec), initiators: [...new Set(spec.initiators)] };
    const known = this.targets.get(spec.iqn);
    if (known && sameStorage(known.spec, spec)) {
      if (!sameSet(known.spec.initiators, spec.initiators)) await this.acl(spec.iqn, spec.initiators);
      await this.refreshLuns(known.spec, known.tid);
      return;
    }
    this.checkAccounts(spec);
    // A changed LUN list or CHAP setting replaces the target, ending its sessions.
    if (known) await this.delete(spec.iqn);
    const tid = known?.tid ?? this.nextTid++;
    if (this.online) await this.apply(spec, tid);
    this.targets.set(spec.iqn, { spec, tid });
  }

  private async delete(iqn: string): Promise<void> {
    const known = this.targets.get(iqn);
    this.targets.delete(iqn);
    if (!this.online) return;
    const tid = known?.tid ?? (await this.showTargets()).find((x) => x.iqn === iqn)?.tid;
    if (tid === undefined) return;
    try {
      await this.iscsi(['--op', 'delete', '--mode', 'target', '--force', '--tid', String(tid)]);
    } catch (err) {
      if (!(err instanceof CommandError && err.stderr.includes("can't find the target"))) throw err;
    }
    await this.dropUnusedAccounts();
  }

  private async acl(iqn: string, names: string[]): Promise<void> {
    const initiators = [...new Set(names)];
    const known = this.targets.get(iqn);
    if (!known) throw new HarnessError('BAD_INPUT', `setAcl: no target ${iqn} on this host`);
    known.spec.initiators = [...initiators];
    if (!this.online) return;
    const current = (await this.showTargets()).find((x) => x.iqn === iqn)?.acl ?? [];
    const tid = String(known.tid);
    for (const name of current.filter((x) => !initiators.includes(x))) await this.iscsi(['--op', 'unbind', '--mode', 'target', '--tid', tid, '-Q', name]);
    for (const name of initiators.filter((x) => !current.includes(x))) await this.iscsi(['--op', 'bind', '--mode', 'target', '--tid', tid, '-Q', name]);
  }

  /**
   * tgt reads a LUN's size when the LUN is added, so a grown backing file is shown by removing and re-adding that
   * LUN; sessions stay. tgt reports whole decimal MB, so a change of less than 1 MB goes unseen.
   */
  private async refreshLuns(spec: TargetSpec, tid: number): Promise<void> {
    if (!this.online) return;
    const shown = (await this.showTargets()).find((x) => x.iqn === spec.iqn);
    if (!shown) return this.apply(spec, tid);
    for (const l of spec.luns) {
      const bytes = (await stat(l.backingFile)).size;
      if (shown.luns.find((x) => x.lun === l.lun)?.sizeBytes === Math.floor(bytes / 1e6) * 1e6) continue;
      await this.iscsi(['--op', 'delete', '--mode', 'logicalunit', '--tid', String(tid), '--lun', String(l.lun)]);
      await this.addLun(tid, l);
    }
  }

  private async apply(spec: TargetSpec, tid: number): Promise<void> {
    const t = String(tid);
    await this.iscsi(['--op', 'new', '--mode', 'target', '--tid', t, '-T', spec.iqn]);
    try {
      for (const l of spec.luns) await this.addLun(tid, l);
      for (const name of spec.initiators) await this.iscsi(['--op', 'bind', '--mode', 'target', '--tid', t, '-Q', name]);
      if (spec.chap) {
        await this.ensureAccount(spec.chap.targetUser, spec.chap.targetPassword);
        await this.iscsi(['--op', 'bind', '--mode', 'account', '--tid', t, '--user', spec.chap.targetUser]);
        if (spec.chap.initiatorUser && spec.chap.initiatorPassword) {
          await this.ensureAccount(spec.chap.initiatorUser, spec.chap.initiatorPassword);
          await this.iscsi(['--op', 'bind', '--mode', 'account', '--tid', t, '--user', spec.chap.initiatorUser, '--outgoing']);
        }
      }
    } catch (err) {
      await this.iscsi(['--op', 'delete', '--mode', 'target', '--force', '--tid', t], { nothrow: true });
      throw err;
    }
  }

  private async addLun(tid: number, l: LunSpec): Promise<void> {
    const [t, lun] = [String(tid), String(l.lun)];
    await this.iscsi(['--op', 'new', '--mode', 'logicalunit', '--tid', t, '--lun', lun, '-b', l.backingFile]);
    const params = `vendor_id=${l.vendor ?? 'DATERA'},product_id=${l.product ?? 'IBLOCK'},scsi_sn=${l.serial}`;
    await this.iscsi(['--op', 'update', '--mode', 'logicalunit', '--tid', t, '--lun', lun, '--params', params]);
  }

  /** tgt has one password per account name across all targets, so two targets cannot disagree about it. */
  private checkAccounts(spec: TargetSpec): void {
    for (const [user, password] of chapAccounts(spec.chap)) {
      for (const other of this.targets.values()) {
        if (other.spec.iqn === spec.iqn) continue;
        const theirs = chapAccounts(other.spec.chap).find(([u]) => u === user);
        if (theirs && theirs[1] !== password) {
          throw new HarnessError('BAD_INPUT', `CHAP user ${user} of ${spec.iqn} already has another password on ${other.spec.iqn}; tgt accounts are global`);
        }
      }
    }
  }

  private async ensureAccount(user: string, password: string): Promise<void> {
    const have = this.accounts.get(user);
    if (have === password) return;
    if (have !== undefined) await this.iscsi(['--op', 'delete', '--mode', 'account', '--user', user]);
    await this.iscsi(['--op', 'new', '--mode', 'account', '--user', user, '--password', password], { secrets: [password] });
    this.accounts.set(user, password);
  }

  private async dropUnusedAccounts(): Promise<void> {
    const used = new Set([...this.targets.values()].flatMap((x) => chapAccounts(x.spec.chap).map(([u]) => u)));
    for (const user of [...this.accounts.keys()].filter((u) => !used.has(u))) {
      await this.iscsi(['--op', 'delete', '--mode', 'account', '--user', user], { nothrow: true });
      this.accounts.delete(user);
    }
  }

  private iscsi(args: readonly string[], opts?: { nothrow?: boolean; secrets?: readonly string[] }): Promise<TgtadmResult> {
    return this.tgtadm(['--lld', 'iscsi', ...args], { ...opts, secrets: [...(opts?.secrets ?? []), ...this.accounts.values()] });
  }
}

function chapAccounts(chap: ChapSpec | undefined): [string, string][] {
  if (!chap) return [];
  const out: [string, string][] = [[chap.targetUser, chap.targetPassword]];
  if (chap.initiatorUser && chap.initiatorPassword) out.push([chap.initiatorUser, chap.initiatorPassword]);
  return out;
}

function validate(spec: TargetSpec): void {
  const bad = (why: string) => new HarnessError('BAD_INPUT', `target ${spec.iqn || '(no iqn)'}: ${why}`);
  if (!/^(iqn|eui|naa)\.\S+$/.test(spec.iqn)) throw bad('iqn must look like iqn.YYYY-MM.domain:name');
  const luns = new Set<number>();
  for (const l of spec.luns) {
    if (!Number.isInteger(l.lun) || l.lun < 1 || l.lun > 255) throw bad(`LUN ${l.lun}: must be 1..255 (tgt keeps LUN 0 for its controller)`);
    if (luns.has(l.lun)) throw bad(`LUN ${l.lun} given twice`);
    luns.add(l.lun);
    if (!l.backingFile.startsWith('/')) throw bad(`LUN ${l.lun}: backingFile must be an absolute path`);
    for (const [name, value, max] of [['serial', l.serial, 36], ['vendor', l.vendor ?? 'DATERA', 8], ['product', l.product ?? 'IBLOCK', 16]] as const) {
      if (!SCSI_FIELD.test(value) || value.length > max) throw bad(`LUN ${l.lun}: ${name} ${JSON.stringify(value)} must be 1..${max} printable characters without spaces or commas`);
    }
  }
  if (spec.chap && (!spec.chap.targetUser || !spec.chap.targetPassword)) throw bad('chap needs targetUser and targetPassword');
  if (spec.chap && Boolean(spec.chap.initiatorUser) !== Boolean(spec.chap.initiatorPassword)) throw bad('mutual chap needs both initiatorUser and initiatorPassword');
}

function sameStorage(a: TargetSpec, b: TargetSpec): boolean {
  const luns = (s: TargetSpec) => JSON.stringify([...s.luns].sort((x, y) => x.lun - y.lun).map((l: LunSpec) => [l.lun, l.backingFile, l.serial, l.vendor ?? 'DATERA', l.product ?? 'IBLOCK']));
  const chap = (s: TargetSpec) => JSON.stringify(chapAccounts(s.chap));
  return luns(a) === luns(b) && chap(a) === chap(b);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
