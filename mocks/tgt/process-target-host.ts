/**
 * A target host that is a private `tgtd` process on this machine (root only). Each host has its own control socket
 * (`tgtd -C <port>`, /var/run/tgtd/socket.<port>) and by default two fresh loopback portals, so hosts in parallel
 * tests never meet. tgtd's output goes to <runDir>/tgtd.log, its pid to <runDir>/tgtd.pid.
 */
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { formatArgv, HarnessError } from '../../lib/errors.js';
import { run, type RunResult } from '../../lib/exec.js';
import { atMost, waitFor } from '../../lib/wait.js';
import type { StartedTargetHost, TargetHost, TargetHostOptions } from './target-host.js';
import { TgtAdmin } from './tgt-admin.js';
import { TgtHostBase } from './tgt-host-base.js';
import { parseShowPortal } from './tgtadm-parse.js';

const ISCSI_PORT = 3260;
const FOREVER_MS = 2 ** 31 - 1; // the largest timer Node accepts; tgtd runs until we stop it

export class ProcessTargetHost implements TargetHost {
  readonly kind = 'process';

  constructor(private readonly opts: TargetHostOptions) {}

  async start(): Promise<StartedProcessTargetHost> {
    if (process.getuid?.() !== 0) throw new HarnessError('NOT_ROOT', 'a process target host runs tgtd, which needs root');
    await mkdir(this.opts.runDir, { recursive: true });
    let portals: string[];
    if (this.opts.portals) {
      portals = [...this.opts.portals];
      for (const p of portals) {
        if (!(await canBind(p))) throw new HarnessError('TARGET_HOST', `portal ${p} is in use or not a local address`);
      }
    } else {
      portals = await freshLoopbackPortals(2);
    }
    const host = new StartedProcessTargetHost(this.opts.runDir, portals);
    await host.hostUp();
    return host;
  }
}

interface Daemon {
  argv: string[];
  pid: number;
  ctlPort: number;
  exited: Promise<RunResult | Error>;
  /** Set once tgtd has exited (and been reaped, so its pid is no longer ours). */
  result?: RunResult | Error;
}

export class StartedProcessTargetHost extends TgtHostBase implements StartedTargetHost {
  readonly kind = 'process';
  readonly portals: readonly string[];
  private daemon: Daemon | undefined;
  private ctlPort = randomCtlPort();
  protected readonly admin = new TgtAdmin((args, o) => run(['tgtadm', '-C', String(this.ctlPort), ...args], { ...o, timeoutMs: 30_000 }));
  private stopped = false;

  constructor(
    private readonly runDir: string,
    portals: string[],
  ) {
    super();
    this.portals = portals;
  }

  protected get tgtdRunning(): boolean {
    return Boolean(this.daemon);
  }

  /** tgtd's control port (-C); the socket is /var/run/tgtd/socket.<port>. */
  get controlPort(): number {
    return this.ctlPort;
  }

  /** Pid of the running tgtd, undefined while the host is down. */
  get pid(): number | undefined {
    return this.daemon?.pid;
  }


  /** SIGKILL, as a crash would: the kernel drops every session with the process. */
  async hostDown(): Promise<void> {
    const d = this.daemon;
    if (!d) return;
    this.admin.online = false;
    if (!d.result) process.kill(d.pid, 'SIGKILL');
    await d.exited;
    await this.cleanup(d);
  }

  async hostUp(): Promise<void> {
    if (this.stopped) throw new HarnessError('TARGET_HOST', 'this target host was stopped; start a new one');
    if (this.daemon) return;
    await this.spawn();
    await this.admin.restore();
  }

  /**
   * tgtd ignores SIGTERM (it only logs it), so a clean stop is tgt's own: delete every target (--force ends the
   * sessions), then `--op delete --mode system`, which makes an empty tgtd exit. SIGKILL if it does not.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const d = this.daemon;
    if (!d) return;
    try {
      await this.admin.deleteAll();
      await run(['tgtadm', '-C', String(d.ctlPort), '--op', 'delete', '--mode', 'system'], { nothrow: true, timeoutMs: 10_000 });
      await atMost(d.exited, 5_000);
    } finally {
      this.admin.online = false;
      if (!d.result) process.kill(d.pid, 'SIGKILL');
      await d.exited;
      await this.cleanup(d);
    }
  }


  private async spawn(): Promise<void> {
    const up = this.portals.filter((p) => !this.down.has(p));
    // tgtd needs one portal on its command line (without one it listens on 0.0.0.0:3260); the rest are added.
    const first = up[0] ?? this.portals[0]!;
    for (let attempt = 1; !this.daemon; attempt++) {
      if (attempt > 5) throw new HarnessError('TARGET_HOST', 'tgtd found no free control port in 5 tries');
      const ctl = this.ctlPort;
      const taken = await run(['tgtadm', '-C', String(ctl), '--op', 'show', '--mode', 'sys'], { nothrow: true, timeoutMs: 10_000 });
      this.daemon = taken.exitCode === 0 ? undefined : await this.launch(['tgtd', '-f', '-C', String(ctl), '--iscsi', `portal=${first}`]);
      if (!this.daemon) this.ctlPort = randomCtlPort();
    }
    for (const p of up.slice(1)) await this.admin.addPortal(p);
    if (!up.includes(first)) await this.admin.removePortal(first);
    this.admin.online = true;
  }

  /** Start tgtd and wait until it answers on its control socket. Undefined when another tgtd holds that socket. */
  private async launch(argv: string[]): Promise<Daemon | undefined> {
    const ctlPort = Number(argv[3]);
    const portal = argv[5]!.slice('portal='.length);
    const d: Daemon = {
      argv,
      pid: 0,
      ctlPort,
      exited: run(argv, { nothrow: true, timeoutMs: FOREVER_MS, detached: true }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
    };
    d.exited = d.exited.then(async (r) => {
      d.result = r;
      const what = r instanceof Error ? r.message : `exited ${r.exitCode ?? r.signal}\n${r.stderr}${r.stdout}`;
      await appendFile(join(this.runDir, 'tgtd.log'), `--- ${new Date().toISOString()} ${formatArgv(argv)} ${what}\n`);
      return r;
    });
    const seen = await waitFor(
      `tgtd -C ${ctlPort} to answer on its control socket`,
      async (saw) => {
        if (d.result) return { exited: true as const };
        const pid = await findPid(argv);
        const r = await run(['tgtadm', '-C', String(ctlPort), '--lld', 'iscsi', '--op', 'show', '--mode', 'portal'], { nothrow: true, timeoutMs: 10_000 });
        saw(`pid ${pid ?? 'not found'}; tgtadm: ${(r.stderr || r.stdout).trim()}`);
        return pid !== undefined && r.exitCode === 0 ? { pid, portals: r.stdout } : undefined;
      },
      { timeoutMs: 20_000 },
    ).catch(async (err: unknown) => {
      const pid = await findPid(argv);
      if (pid !== undefined && !d.result) process.kill(pid, 'SIGKILL');
      await d.exited;
      throw err;
    });
    if ('exited' in seen) {
      const r = d.result!;
      if (r instanceof Error) throw r;
      if (r.stderr.includes('another tgtd is using')) return undefined;
      throw new HarnessError('TARGET_HOST', `tgtd exited ${r.exitCode ?? r.signal} at start: ${formatArgv(argv)}\n${r.stderr.trim().split('\n').slice(-8).join('\n')}`);
    }
    d.pid = seen.pid;
    const listening = parseShowPortal(seen.portals);
    if (listening.length !== 1 || listening[0] !== portal) {
      // The socket may be another tgtd's that won a race for the port, or ours fell back to the wildcard portal.
      if (!d.result) process.kill(d.pid, 'SIGKILL');
      await d.exited;
      throw new HarnessError('TARGET_HOST', `tgtd did not listen on ${portal} (control port ${ctlPort} shows ${listening.join(', ') || 'no portal'}); is the address in use?`);
    }
    await writeFile(join(this.runDir, 'tgtd.pid'), `${d.pid}\n`);
    await appendFile(join(this.runDir, 'tgtd.log'), `--- ${new Date().toISOString()} started pid ${d.pid}: ${formatArgv(argv)}\n`);
    return d;
  }

  private async cleanup(d: Daemon): Promise<void> {
    this.daemon = undefined;
    await rm(join(this.runDir, 'tgtd.pid'), { force: true });
    // tgtd leaves its socket and lock file behind (harmless: the next tgtd replaces them). Remove them unless
    // another tgtd has taken the control port since ours exited.
    const taken = await run(['tgtadm', '-C', String(d.ctlPort), '--op', 'show', '--mode', 'sys'], { nothrow: true, timeoutMs: 10_000 });
    if (taken.exitCode === 0) return;
    for (const f of [`socket.${d.ctlPort}`, `socket.${d.ctlPort}.lock`]) await rm(join('/var/run/tgtd', f), { force: true });
  }
}

/** Pids of running tgtd processes with control port `ctlPort` (for leak checks). */
export async function findTgtd(ctlPort: number): Promise<number[]> {
  const procs = await listProcesses();
  return procs.filter(({ argv }) => argv[0]?.endsWith('tgtd') && argv.some((a, i) => (a === '-C' || a === '--control-port') && argv[i + 1] === String(ctlPort))).map((p) => p.pid);
}

async function findPid(argv: readonly string[]): Promise<number | undefined> {
  const want = argv.join('\0');
  return (await listProcesses()).find((p) => p.argv.join('\0') === want)?.pid;
}

async function listProcesses(): Promise<{ pid: number; argv: string[] }[]> {
  const out: { pid: number; argv: string[] }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline) out.push({ pid: Number(name), argv: cmdline.replace(/\0$/, '').split('\0') });
  }
  return out;
}

/** tgtd -C takes 0..32767. */
function randomCtlPort(): number {
  return 10_000 + Math.floor(Math.random() * 22_768);
}

/** Two (or n) addresses 127.a.b.1, 127.a.b.2, ... on the iSCSI port, all free right now. */
async function freshLoopbackPortals(n: number): Promise<string[]> {
  for (let i = 0; i < 50; i++) {
    const net = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}`;
    const portals = Array.from({ length: n }, (_, k) => `${net}.${k + 1}:${ISCSI_PORT}`);
    if ((await Promise.all(portals.map(canBind))).every(Boolean)) return portals;
  }
  throw new HarnessError('TARGET_HOST', `found no free loopback addresses for ${n} portals on port ${ISCSI_PORT}`);
}

function canBind(portal: string): Promise<boolean> {
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(portal);
  if (!m) throw new HarnessError('BAD_INPUT', `portal ${JSON.stringify(portal)} is not "ip:port"`);
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: m[1], port: Number(m[2]), exclusive: true }, () => server.close(() => resolve(true)));
  });
}
