/**
 * An iscsiadm for nodes without a kernel initiator: the subset drivers use (discovery and discoverydb sendtargets,
 * node new/update/delete/show, login/logout/rescan, session listing and logout, iface show, --version), with
 * open-iscsi's output and exit codes, backed by the userspace initiator. State lives under $DKC_ISCSI_ROOT, one
 * root per node, so nodes sharing a machine do not collide.
 *
 * Environment: DKC_ISCSI_ROOT (required); DKC_ISCSI_INITIATORNAME_FILE (default
 * <root>/etc/iscsi/initiatorname.iscsi, generated like Debian's postinst does when missing).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { disallowedOption, parseArgs, USAGE_HINT, type Args, type Op } from './args.js';
import {
  discoveryFlat,
  discoveryRecord,
  HELP,
  ifaceFlat,
  ifaceRecord,
  msg,
  nodeFlat,
  nodeRecord,
  nodeTree,
  sessionFlat,
  sessionTree,
} from './format.js';
import type { Chap, Initiator } from './initiator.js';
import { ISCSI_ERR, IscsiadmError, iscsiErrText } from './iscsi-err.js';
import {
  DISCOVERY_DEFAULTS,
  layout,
  loadState,
  NODE_DEFAULTS,
  pidAlive,
  saveState,
  VERSION,
  withLock,
  type DiscoveryRecord,
  type IscsiState,
  type NodeRecord,
  type SessionRecord,
} from './state.js';
import { UserspaceInitiator } from './userspace-initiator.js';

export interface MainDeps {
  out?: (line: string) => void;
  err?: (line: string) => void;
  initiator?: (root: string, env: NodeJS.ProcessEnv) => Initiator;
}

interface Filter {
  iqn?: string;
  ip?: string;
  port?: number;
  iface?: string;
  sid?: number;
}

const ST_TYPES = ['sendtargets', 'st'];

function matches(f: Filter, x: { iqn: string; ip: string; port: number; iface: string; sid?: number }): boolean {
  return (
    (!f.iqn || f.iqn === x.iqn) &&
    (!f.ip || f.ip === x.ip) &&
    (f.port === undefined || f.port === x.port) &&
    (!f.iface || f.iface === x.iface) &&
    (f.sid === undefined || f.sid === x.sid)
  );
}

const sameNode = (a: { iqn: string; ip: string; port: number; iface: string }, b: typeof a) =>
  a.iqn === b.iqn && a.ip === b.ip && a.port === b.port && a.iface === b.iface;

export function chapFor(settings: Record<string, string>, prefix: 'node.session.auth' | 'discovery.sendtargets.auth'): Chap | undefined {
  const method = settings[`${prefix}.authmethod`] ?? 'None';
  const username = settings[`${prefix}.username`] ?? '';
  // csi-lib-iscsi sets discovery CHAP with empty credentials: that means no CHAP.
  if (method.toUpperCase() !== 'CHAP' || !username) return undefined;
  return { username, password: settings[`${prefix}.password`] ?? '' };
}

export function newNodeRecord(t: { iqn: string; ip: string; port: number; tpgt: number; iface?: string }, discovery?: { ip: string; port: number }): NodeRecord {
  const settings: Record<string, string> = Object.fromEntries(NODE_DEFAULTS);
  settings['node.discovery_address'] = discovery?.ip ?? '';
  settings['node.discovery_port'] = String(discovery?.port ?? 0);
  settings['node.discovery_type'] = discovery ? 'send_targets' : 'static';
  return { iqn: t.iqn, ip: t.ip, port: t.port, tpgt: t.tpgt, iface: t.iface ?? 'default', settings };
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, deps: MainDeps = {}): Promise<number> {
  const out = deps.out ?? ((l: string) => void process.stdout.write(`${l}\n`));
  const err = deps.err ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const log = (l: string) => err(`iscsiadm: ${l}`);
  let a: Args;
  try {
    a = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof IscsiadmError)) throw e;
    e.lines.forEach(log);
    err(USAGE_HINT);
    return e.status;
  }
  if (a.version) {
    out(`iscsiadm version ${VERSION}`);
    return 0;
  }
  if (a.help) {
    out(HELP);
    return 0;
  }
  if (!a.mode) {
    err(USAGE_HINT);
    return ISCSI_ERR.INVAL;
  }
  const bad = disallowedOption(a);
  if (bad) {
    log(`${a.mode === 'discoverydb' ? 'discovery' : a.mode} mode: option '-${bad}' is not allowed/supported`);
    return ISCSI_ERR.INVAL;
  }
  if (!env.DKC_ISCSI_ROOT) {
    log('DKC_ISCSI_ROOT is not set: this userspace iscsiadm keeps node records and sessions under that directory (one per node)');
    return ISCSI_ERR.IDBM;
  }
  const root = resolve(env.DKC_ISCSI_ROOT);
  const cmd = new Command(a, root, env, out, log, (deps.initiator ?? ((r, e) => new UserspaceInitiator(r, e)))(root, env));
  try {
    return await cmd.run();
  } catch (e) {
    if (e instanceof IscsiadmError) {
      e.lines.forEach(log);
      return e.status;
    }
    log(`internal error: ${(e as Error).message}`);
    return ISCSI_ERR.INTERNAL;
  }
}

class Command {
  private state!: IscsiState;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly a: Args,
    private readonly root: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly out: (l: string) => void,
    private readonly log: (l: string) => void,
    private readonly init: Initiator,
  ) {}

  async run(): Promise<number> {
    const { mode } = this.a;
    if (mode === 'iface') return this.iface();
    if (mode === 'host') {
      this.log('No iSCSI hosts.');
      return ISCSI_ERR.NO_OBJS_FOUND;
    }
    if (mode === 'fw') {
      this.log('Could not get list of targets from firmware. (err 21)');
      return ISCSI_ERR.NO_OBJS_FOUND;
    }
    return withLock(this.root, async () => {
      this.state = await loadState(this.root);
      try {
        if (mode === 'discovery') return await this.discovery();
        if (mode === 'discoverydb') return await this.discoverydb();
        if (mode === 'node') return await this.node();
        return await this.session();
      } finally {
        await this.save();
      }
    });
  }

  /** Saves are queued: parallel logins persist their progress through here. */
  private save(): Promise<void> {
    this.saving = this.saving.then(() => saveState(this.root, this.state));
    return this.saving;
  }

  private get ops(): Set<Op> {
    return new Set(this.a.ops);
  }

  private async initiatorName(): Promise<string> {
    const file = this.env.DKC_ISCSI_INITIATORNAME_FILE || layout(this.root).initiatorName;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const name = `iqn.1993-08.org.debian:01:${randomBytes(6).toString('hex')}`;
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, `## Generated by the dkc userspace iscsiadm, as open-iscsi's postinst would.\nInitiatorName=${name}\n`);
      return name;
    }
    const name = /^\s*InitiatorName\s*=\s*(\S+)/m.exec(text)?.[1];
    if (!name) throw new IscsiadmError(ISCSI_ERR.IDBM, [`No InitiatorName=... line in ${file}`]);
    return name;
  }

  /** Only the default iface exists. Unknown names are reported and dropped, as open-iscsi does. */
  private ifacesOk(): boolean {
    const bad = this.a.ifaces.filter((i) => i !== 'default');
    bad.forEach((i) => this.log(msg.badIface(i)));
    return this.a.ifaces.length === 0 || bad.length < this.a.ifaces.length;
  }

  // ---- sessions ----

  /** Sessions whose daemon, FUSE export or loop device has gone are cleaned up and forgotten. */
  private async reconcile(): Promise<void> {
    const keep: SessionRecord[] = [];
    let dropped = false;
    for (const s of this.state.sessions) {
      if (s.state === 'starting' && s.owner && s.owner !== process.pid && pidAlive(s.owner)) keep.push(s);
      else if (await this.init.alive(s)) keep.push(s);
      else {
        await this.init.teardown(s);
        dropped = true;
      }
    }
    this.state.sessions = keep;
    if (dropped) await this.init.relink(keep);
  }

  private nodeChap(n: { iqn: string; ip: string; port: number; iface: string }): Chap | undefined {
    const rec = this.state.nodes.find((x) => sameNode(x, n));
    if (rec?.settings['node.session.auth.username_in'])
      this.log(`warning: ${n.iqn}: mutual CHAP (username_in) is ignored: qemu's iSCSI driver authenticates one way only`);
    return rec && chapFor(rec.settings, 'node.session.auth');
  }

  private async login(recs: readonly NodeRecord[]): Promise<number> {
    await this.reconcile();
    let rc = 0;
    const initiator = await this.initiatorName();
    const started: { rec: NodeRecord; s: SessionRecord }[] = [];
    for (const rec of recs) {
      if (this.state.sessions.some((s) => sameNode(s, rec))) {
        this.log(msg.alreadyPresent(rec));
        rc ||= ISCSI_ERR.SESS_EXISTS;
        continue;
      }
      const sid = this.state.nextSid++;
      const s: SessionRecord = {
        sid,
        iqn: rec.iqn,
        ip: rec.ip,
        port: rec.port,
        tpgt: rec.tpgt > 0 ? rec.tpgt : 1,
        iface: rec.iface,
        initiator,
        dir: join(layout(this.root).run, `session-${sid}`),
        state: 'starting',
        owner: process.pid,
        luns: [],
      };
      this.state.sessions.push(s);
      started.push({ rec, s });
    }
    await this.save();
    for (const { rec } of started) this.out(msg.loggingIn(rec));
    const results = await Promise.allSettled(
      started.map(({ rec, s }) => {
        const timeoutS = Number(rec.settings['node.conn[0].timeo.login_timeout']) || 15;
        return this.init.login(s, { chap: this.nodeChap(rec), timeoutMs: (timeoutS + 15) * 1000, persist: () => this.save() });
      }),
    );
    results.forEach((r, i) => {
      const { rec, s } = started[i]!;
      if (r.status === 'fulfilled') {
        s.state = 'up';
        delete s.owner;
        this.out(msg.loginOk(rec));
        return;
      }
      const e = r.reason instanceof IscsiadmError ? r.reason : new IscsiadmError(ISCSI_ERR.LOGIN, [String((r.reason as Error)?.message ?? r.reason)]);
      this.state.sessions = this.state.sessions.filter((x) => x !== s);
      this.log(msg.loginFailed(rec));
      this.log(msg.initiatorError(e.status, iscsiErrText(e.status)));
      e.lines.forEach((l) => this.log(l));
      rc ||= e.status;
    });
    if (rc) this.log('Could not log into all portals');
    return rc;
  }

  private async logout(sessions: readonly SessionRecord[]): Promise<number> {
    if (!sessions.length) {
      this.log('No matching sessions found');
      return ISCSI_ERR.NO_OBJS_FOUND;
    }
    for (const s of sessions) this.out(msg.loggingOut(s));
    const results = await Promise.allSettled(sessions.map((s) => this.init.teardown(s)));
    let rc = 0;
    results.forEach((r, i) => {
      const s = sessions[i]!;
      if (r.status === 'fulfilled') {
        this.state.sessions = this.state.sessions.filter((x) => x !== s);
        this.out(msg.logoutOk(s));
      } else {
        this.log(msg.logoutFailed(s));
        this.log(msg.initiatorError(ISCSI_ERR.LOGOUT, iscsiErrText(ISCSI_ERR.LOGOUT)));
        this.log(String((r.reason as Error)?.message ?? r.reason));
        rc ||= ISCSI_ERR.LOGOUT;
      }
    });
    await this.init.relink(this.state.sessions);
    if (rc) this.log('Could not logout of all requested sessions');
    return rc;
  }

  private async rescan(sessions: readonly SessionRecord[]): Promise<number> {
    if (!sessions.length) {
      this.log('No session found.');
      return ISCSI_ERR.NO_OBJS_FOUND;
    }
    for (const s of sessions) {
      this.out(msg.rescanning(s));
      await this.init.rescan(s, this.nodeChap(s));
    }
    return 0;
  }

  private byStartup(mode: string): NodeRecord[] | undefined {
    if (!['all', 'manual', 'automatic', 'onboot'].includes(mode)) return undefined;
    return this.state.nodes.filter((n) => mode === 'all' || n.settings['node.startup'] === mode || n.settings['node.conn[0].startup'] === mode);
  }

  // ---- modes ----

  private async node(): Promise<number> {
    const a = this.a;
    const ops = this.ops;
    if (a.loginAll !== undefined || a.logoutAll !== undefined) {
      const mode = (a.loginAll ?? a.logoutAll)!;
      const recs = this.byStartup(mode);
      if (!recs) {
        this.log(`Invalid ${a.loginAll !== undefined ? 'loginall' : 'logoutall'} option ${mode}.`);
        return ISCSI_ERR.INVAL;
      }
      if (a.loginAll !== undefined) {
        if (!recs.length) {
          this.log('No records found');
          return ISCSI_ERR.NO_OBJS_FOUND;
        }
        return this.login(recs);
      }
      await this.reconcile();
      return this.logout(this.state.sessions.filter((s) => mode === 'all' || recs.some((r) => sameNode(r, s))));
    }
    if (a.ifaces.length && !a.ifaces.includes('default')) {
      this.log(msg.badIface(a.ifaces[0]!));
      return ISCSI_ERR.NOMEM; // open-iscsi fails to build the record and reports it as out of memory
    }
    const f: Filter = { iqn: a.target, ip: a.portal?.ip, port: a.portal ? (a.portal.port ?? 3260) : undefined, iface: a.ifaces[0] };
    if (ops.has('new')) return this.addStatic(f);
    if (a.rescan) {
      await this.reconcile();
      return this.rescan(this.state.sessions.filter((s) => matches(f, s)));
    }
    if (a.stats) {
      this.log('Could not execute operation on all sessions: operation not supported');
      return ISCSI_ERR.OP_NOT_SUPP;
    }
    if (a.login && a.logout) {
      this.log('Invalid parameters. Both login and logout passed in');
      return ISCSI_ERR.INVAL;
    }
    if ((a.login || a.logout) && ops.size) {
      this.log('Invalid parameters. Login/logout and op passed in');
      return ISCSI_ERR.INVAL;
    }
    const recs = this.state.nodes.filter((n) => matches(f, n));
    const noRecords = () => {
      this.log('No records found');
      return ISCSI_ERR.NO_OBJS_FOUND;
    };
    if (!a.login && !a.logout && !ops.size && !f.iqn && !f.ip && !f.iface) {
      const level = a.printLevel ?? 0;
      if (level > 1) {
        this.log(`Invalid info level ${level}. Try 0 or 1.`);
        return ISCSI_ERR.INVAL;
      }
      if (!recs.length) return noRecords();
      (level === 1 ? nodeTree(recs) : recs.map(nodeFlat)).forEach((l) => this.out(l));
      return 0;
    }
    if (a.login) return recs.length ? this.login(recs) : noRecords();
    if (a.logout) {
      await this.reconcile();
      return this.logout(this.state.sessions.filter((s) => matches(f, s)));
    }
    if (!ops.size || ops.has('show')) {
      if (!recs.length) return noRecords();
      for (const r of recs) nodeRecord(r, a.show).forEach((l) => this.out(l));
      return 0;
    }
    if (ops.has('update')) {
      if (!a.params.length) {
        this.log('update requires name and value');
        return ISCSI_ERR.INVAL;
      }
      for (const { name } of a.params) {
        if (name.startsWith('iface.') && name !== 'iface.transport_name') {
          this.log(`Cannot modify ${name}. Use iface mode to update this value.`);
          return ISCSI_ERR.INVAL;
        }
        if (!name.startsWith('node.') && name !== 'iface.transport_name') {
          this.log(`Cannot modify ${name}. Invalid param name.`);
          return ISCSI_ERR.INVAL;
        }
      }
      if (!recs.length) return noRecords();
      for (const r of recs) for (const { name, value } of a.params) if (name.startsWith('node.')) r.settings[name] = value;
      return 0;
    }
    if (ops.has('delete')) {
      if (!recs.length) return noRecords();
      await this.reconcile();
      let rc = 0;
      for (const r of recs) {
        if (this.state.sessions.some((s) => sameNode(s, r))) {
          this.log(msg.deleteInUse(r));
          rc = ISCSI_ERR.SESS_EXISTS;
        } else this.state.nodes = this.state.nodes.filter((x) => x !== r);
      }
      return rc;
    }
    this.log('operation is not supported.');
    return ISCSI_ERR.INVAL;
  }

  /** `-m node -o new`: a static record, reset to defaults when it exists (open-iscsi overwrites too). */
  private addStatic(f: Filter): number {
    const tpgt = this.a.portal?.tpgt ?? -1;
    const targets: { iqn: string; ip: string; port: number }[] = [];
    if (f.iqn && f.ip) targets.push({ iqn: f.iqn, ip: f.ip, port: f.port ?? 3260 });
    else if (f.iqn) targets.push(...this.state.nodes.filter((n) => matches(f, n)));
    if (!targets.length) {
      this.log(`Error while adding record: ${iscsiErrText(ISCSI_ERR.NO_OBJS_FOUND)}`);
      return ISCSI_ERR.NO_OBJS_FOUND;
    }
    for (const t of targets) {
      const rec = newNodeRecord({ ...t, tpgt, iface: f.iface });
      this.state.nodes = this.state.nodes.filter((n) => !sameNode(n, rec)).concat(rec);
      this.out(msg.newNode(rec));
    }
    return 0;
  }

  private async session(): Promise<number> {
    const a = this.a;
    await this.reconcile();
    if (a.stats) {
      this.log('Could not execute operation on all sessions: operation not supported');
      return ISCSI_ERR.OP_NOT_SUPP;
    }
    let sessions = this.state.sessions;
    if (a.sid !== undefined) {
      sessions = sessions.filter((s) => s.sid === a.sid);
      if (!sessions.length) {
        this.log(`Could not get session info for sid ${a.sid}`);
        return ISCSI_ERR.SESS_NOT_FOUND;
      }
      if (this.ops.has('new')) {
        this.log('Could not log into all portals: a second session to the same portal is not supported');
        return ISCSI_ERR.OP_NOT_SUPP;
      }
    } else if (this.ops.has('new')) {
      this.log("session mode: Operation 'new' only allowed with specific session IDs");
      return ISCSI_ERR.INVAL;
    }
    if (a.logout) return this.logout(sessions);
    if (a.rescan) return this.rescan(sessions);
    const level = a.printLevel ?? 0;
    if (level > 3) {
      this.log(`Invalid info level ${level}. Try 0 - 3.`);
      return ISCSI_ERR.INVAL;
    }
    if (!sessions.length) {
      this.log('No active sessions.');
      return ISCSI_ERR.NO_OBJS_FOUND;
    }
    (level > 0 ? sessionTree(sessions, level) : sessions.map(sessionFlat)).forEach((l) => this.out(l));
    return 0;
  }

  private async iface(): Promise<number> {
    const ops = this.ops;
    if (ops.size && !ops.has('show')) {
      this.log('iface operations other than show are not supported: the userspace initiator has only the default iface');
      return ISCSI_ERR.OP_NOT_SUPP;
    }
    const name = this.a.ifaces[0];
    if (name === undefined && !ops.size && (this.a.printLevel ?? 0) <= 0) {
      this.out(ifaceFlat());
      return 0;
    }
    if (name !== undefined && name !== 'default') {
      this.log(`Could not read iface ${name} (${ISCSI_ERR.NO_OBJS_FOUND}).`);
      return ISCSI_ERR.NO_OBJS_FOUND;
    }
    // The default iface carries no initiator name of its own; iscsid supplies it.
    ifaceRecord(undefined).forEach((l) => this.out(l));
    return 0;
  }

  // ---- discovery ----

  private portalOrFail(): { ip: string; port: number } | undefined {
    if (!this.a.portal) {
      this.log('Please specify portal as <ipaddr>[:<ipport>]');
      return undefined;
    }
    return { ip: this.a.portal.ip, port: this.a.portal.port ?? 3260 };
  }

  private findDiscovery(p: { ip: string; port: number }): DiscoveryRecord | undefined {
    return this.state.discovery.find((d) => d.ip === p.ip && d.port === p.port);
  }

  private addDiscovery(p: { ip: string; port: number }): DiscoveryRecord {
    const existing = this.findDiscovery(p);
    if (existing) return existing;
    const d: DiscoveryRecord = { ip: p.ip, port: p.port, settings: Object.fromEntries(DISCOVERY_DEFAULTS) };
    this.state.discovery.push(d);
    return d;
  }

  /** A discovery record goes with the nodes it found (those without a session). */
  private async deleteDiscovery(d: DiscoveryRecord): Promise<number> {
    await this.reconcile();
    this.state.discovery = this.state.discovery.filter((x) => x !== d);
    this.state.nodes = this.state.nodes.filter(
      (n) => n.settings['node.discovery_address'] !== d.ip || n.settings['node.discovery_port'] !== String(d.port) || this.state.sessions.some((s) => sameNode(s, n)),
    );
    return 0;
  }

  private unsupportedType(type: string): number {
    if (['isns', 'slp', 'fw'].includes(type)) {
      this.log(`${type} discovery is not supported by the userspace initiator`);
      return ISCSI_ERR.OP_NOT_SUPP;
    }
    this.log('Invalid command. Possibly missing discovery --type.');
    return ISCSI_ERR.INVAL;
  }

  private async discovery(): Promise<number> {
    const a = this.a;
    const ops = this.ops;
    if (a.type !== undefined) {
      if (!ST_TYPES.includes(a.type)) return this.unsupportedType(a.type);
      const p = this.portalOrFail();
      if (!p) return ISCSI_ERR.INVAL;
      return this.sendtargets(p, true);
    }
    if (!a.portal) {
      if (ops.size && !ops.has('show')) {
        this.log('Invalid operation.');
        return ISCSI_ERR.INVAL;
      }
      this.state.discovery.forEach((d) => this.out(discoveryFlat(d)));
      return this.state.discovery.length ? 0 : ISCSI_ERR.NO_OBJS_FOUND;
    }
    const p = { ip: a.portal.ip, port: a.portal.port ?? 3260 };
    const d = this.findDiscovery(p);
    if (!d) {
      this.log(`Discovery record [${p.ip},${p.port}] not found!`);
      return ISCSI_ERR.INVAL;
    }
    if (a.discover || a.login) return this.sendtargets(p, false);
    if (!ops.size || ops.has('show')) {
      discoveryRecord(d, a.show).forEach((l) => this.out(l));
      return 0;
    }
    if (ops.has('delete')) return this.deleteDiscovery(d);
    if (ops.has('new') || ops.has('update')) {
      this.log('Operations new and update for discovery mode is not supported. Use discoverydb mode.');
      return ISCSI_ERR.INVAL;
    }
    this.log('Invalid operation.');
    return ISCSI_ERR.INVAL;
  }

  private async discoverydb(): Promise<number> {
    const a = this.a;
    const ops = this.ops;
    if (a.type === undefined) {
      if (!a.portal && (!ops.size || ops.has('show'))) {
        this.state.discovery.forEach((d) => this.out(discoveryFlat(d)));
        return this.state.discovery.length ? 0 : ISCSI_ERR.NO_OBJS_FOUND;
      }
      this.log(a.portal && !ops.size ? 'Invalid command. Portal not needed or Possibly missing discovery --type.' : 'Invalid command. Possibly missing discovery --type.');
      return ISCSI_ERR.INVAL;
    }
    if (!ST_TYPES.includes(a.type)) return this.unsupportedType(a.type);
    const p = this.portalOrFail();
    if (!p) return ISCSI_ERR.INVAL;
    if (ops.has('new') && !a.discover) {
      this.addDiscovery(p);
      this.out(`New discovery record for [${p.ip},${p.port}] added.`);
      return 0;
    }
    const d = this.findDiscovery(p);
    if (a.discover) {
      if (!d && !ops.has('nonpersistent')) this.addDiscovery(p);
      return this.sendtargets(p, false);
    }
    if (!d) {
      this.log(`Discovery record [${p.ip},${p.port}] not found.`);
      return ISCSI_ERR.NO_OBJS_FOUND;
    }
    if (!ops.size || ops.has('show')) {
      discoveryRecord(d, a.show).forEach((l) => this.out(l));
      return 0;
    }
    if (ops.has('delete')) return this.deleteDiscovery(d);
    if (ops.has('update')) {
      if (!a.params.length) {
        this.log('Update requires name and value.');
        return ISCSI_ERR.INVAL;
      }
      const badName = a.params.find((x) => !x.name.startsWith('discovery.'));
      if (badName) {
        this.log(`Cannot modify ${badName.name}. Invalid param name.`);
        return ISCSI_ERR.INVAL;
      }
      for (const { name, value } of a.params) d.settings[name] = value;
      return 0;
    }
    this.log('Operation is not supported.');
    return ISCSI_ERR.INVAL;
  }

  /** SendTargets on one portal, then the record ops (default: new, delete stale, update), print, and maybe login. */
  private async sendtargets(p: { ip: string; port: number }, syncRecord: boolean): Promise<number> {
    const a = this.a;
    if (!this.ifacesOk()) return ISCSI_ERR.NO_OBJS_FOUND;
    const ops = this.ops.size ? this.ops : new Set<Op>(['new', 'delete', 'update']);
    const persistent = !ops.has('nonpersistent');
    const d = syncRecord && persistent ? this.addDiscovery(p) : this.findDiscovery(p);
    const initiator = await this.initiatorName();
    let found;
    try {
      found = await this.init.discover(p, initiator, d && chapFor(d.settings, 'discovery.sendtargets.auth'));
    } catch (e) {
      if (!(e instanceof IscsiadmError)) throw e;
      e.lines.forEach((l) => this.log(l));
      this.log(`Could not perform SendTargets discovery: ${iscsiErrText(e.status)}`);
      return e.status;
    }
    if (!found.length) {
      this.log('No portals found');
      return ISCSI_ERR.NO_OBJS_FOUND;
    }
    const recs = found.map((t) => newNodeRecord(t, p));
    let rc = 0;
    if (persistent) {
      if (ops.has('delete')) {
        await this.reconcile();
        const stale = this.state.nodes.filter(
          (n) =>
            n.settings['node.discovery_type'] === 'send_targets' &&
            n.settings['node.discovery_address'] === p.ip &&
            n.settings['node.discovery_port'] === String(p.port) &&
            !recs.some((r) => sameNode(r, n)),
        );
        for (const n of stale) {
          if (this.state.sessions.some((s) => sameNode(s, n))) this.log(msg.deleteInUse(n));
          else this.state.nodes = this.state.nodes.filter((x) => x !== n);
        }
      }
      if (ops.has('new') || ops.has('update')) {
        for (const r of recs) {
          const i = this.state.nodes.findIndex((n) => sameNode(n, r));
          if (i < 0) this.state.nodes.push(r);
          else if (ops.has('update')) this.state.nodes[i] = r;
        }
      }
    }
    ((a.printLevel ?? 0) === 1 ? nodeTree(recs) : recs.map(nodeFlat)).forEach((l) => this.out(l));
    if (a.login) rc = (await this.login(recs.map((r) => this.state.nodes.find((n) => sameNode(n, r)) ?? r))) || rc;
    return rc;
  }
}
