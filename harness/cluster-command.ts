/**
 * `dkc cluster up` and `dkc cluster down`. `up` starts a cluster, prints one `ready key=value ...` line and stays in
 * the foreground until SIGINT/SIGTERM, then removes everything it made. With --detach it runs itself in the
 * background (log and state under the state dir), prints the same ready line and returns; `down` stops such a
 * cluster (SIGTERM, then a sweep of whatever a killed process left: namespaces, mounts, processes, files).
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { contextFor, writeContext } from './fixture/context.js';
import { HarnessError } from '../lib/errors.js';
import { run } from '../lib/exec.js';
import { detachLoopsUnder, readMounts, under } from '../lib/mounts.js';
import { sleep } from '../lib/wait.js';
import { onShutdown } from './shutdown.js';
import { clusterProfile } from '../clusters/embedded/profiles.js';
import { EmbeddedCluster, newClusterId } from '../clusters/embedded/cluster.js';
import { sweepNetworks } from '../clusters/embedded/node/runtime/network.js';
import { kindSweeper, type KindSweepDeps, type KindSweeper } from './cluster-down-kind.js';
import { OWNER_ENV, orphanRecord, readRecord, recordCluster, stateDir, type ClusterRecord } from './cluster-records.js';

export interface ClusterUpOptions {
  provider: string;
  k8s: string;
  nodes: number;
  kubeconfig?: string;
  backend: string;
  driver?: string;
  name: string;
  detach?: boolean;
  provisioner: boolean;
}

type StateRecord = ClusterRecord;
export { stateDir };

const NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** `{server, user, password}` of the cluster's Datera backend, readable by root only. */
export const credentialsPath = (c: EmbeddedCluster) => join(c.workDir, 'datera-credentials.json');

/** The suite context file of a cluster (in its work dir, removed with it). */
export const contextPath = (c: EmbeddedCluster) => join(c.workDir, 'context.json');

export function readyLine(c: EmbeddedCluster, name: string): string {
  const b = c.backend;
  const fields: [string, string][] = [
    ['name', name],
    ['provider', 'embedded'],
    ['version', c.version.replace(' (emulated)', '-emulated')],
    ['kubeconfig', c.kubeconfigPath],
    ['api', c.server.url],
    ['nodes', c.nodes().map((n) => n.name).join(',')],
  ];
  // The mock's own generated credentials are printed so a person can write PVs by hand (they open nothing but
  // this throw-away mock); a real Datera system's password never is. Both are also in a 0600 file.
  fields.push(['context', contextPath(c)]);
  if (b) fields.push(['datera', b.server], ['user', b.user], ['password', b.kind === 'mock' ? b.password : '$DATERA_PASSWORD'], ['credentials', credentialsPath(c)], ['portals', b.portals.join(',')]);
  return `ready ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

export function validateUp(o: ClusterUpOptions): void {
  if (o.provider !== 'embedded')
    throw new HarnessError('BAD_INPUT', `--provider ${o.provider}: only the embedded provider can be brought up with 'dkc cluster up' (kind clusters are made per run by 'dkc run --cluster kind'; an existing cluster needs no bring-up)`);
  if (!NAME.test(o.name)) throw new HarnessError('BAD_INPUT', `--name '${o.name}' must be a DNS label of at most 32 characters`);
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 8) throw new HarnessError('BAD_INPUT', `--nodes ${o.nodes}: give 1 to 8 nodes`);
  if (o.backend !== 'mock' && !/^(https?:\/\/)?[^\s/:]+(:\d+)?\/?$/.test(o.backend)) throw new HarnessError('BAD_INPUT', `--backend '${o.backend}' is neither 'mock' nor a Datera API address (host:port or http(s)://host:port)`);
  if (o.driver && !existsSync(o.driver)) throw new HarnessError('BAD_INPUT', `--driver ${o.driver}: no such file (give the FlexVolume driver executable)`);
  clusterProfile(o.k8s);
}

function backendOf(o: ClusterUpOptions) {
  if (o.backend === 'mock') return 'mock' as const;
  const user = process.env.DATERA_USER;
  const password = process.env.DATERA_PASSWORD;
  if (!user || !password) throw new HarnessError('BAD_INPUT', '--backend URL needs DATERA_USER and DATERA_PASSWORD in the environment (kept out of ps and logs)');
  const url = /^https?:\/\//.test(o.backend) ? o.backend.replace(/\/$/, '') : `http://${o.backend}`;
  const server = new URL(url).host;
  return { url, server, user, password, portals: [] };
}

export async function clusterUp(o: ClusterUpOptions): Promise<number> {
  validateUp(o);
  if (o.detach) return detach(o);
  const existing = await readRecord(o.name);
  if (existing && alive(existing.pid)) throw new HarnessError('BAD_INPUT', `a cluster named ${o.name} is already up (pid ${existing.pid}); run 'dkc cluster down --name ${o.name}' first or pick another --name`);
  let interrupted = false;
  const early = () => {
    interrupted = true;
    console.error('interrupted: finishing the current step, then removing everything');
  };
  process.on('SIGINT', early);
  process.on('SIGTERM', early);
  const profile = clusterProfile(o.k8s);
  console.error(`starting embedded cluster ${o.name}: Kubernetes ${profile.release} (emulated), ${o.nodes} node(s)`);
  const t0 = performance.now();
  // Recorded before anything is made, so that 'dkc cluster down' can sweep even a start killed half-way.
  const id = newClusterId();
  const workDir = await mkdtemp(join(tmpdir(), 'dkc-embedded-'));
  const owner = `${o.name}-${id}`;
  process.env[OWNER_ENV] = owner;
  const forget = await recordCluster({ name: o.name, pid: process.pid, id, workDir, kubeconfig: join(workDir, 'kubeconfig'), owner });
  let cluster: EmbeddedCluster;
  try {
    cluster = await EmbeddedCluster.start({
      id,
      workDir,
      profile,
      nodes: o.nodes,
      ...(o.kubeconfig ? { kubeconfigPath: resolve(o.kubeconfig) } : {}),
      backend: backendOf(o),
      ...(o.driver ? { driver: resolve(o.driver) } : {}),
      provisioner: o.provisioner,
    });
  } catch (err) {
    // start() undid what it made; the work dir and the record are ours.
    process.off('SIGINT', early);
    process.off('SIGTERM', early);
    await forget();
    throw err;
  }
  const finish = async () => {
    const left = await cluster.stop();
    await forget();
    if (left.length) throw new HarnessError('INTERNAL', `cleanup left: ${left.join('; ')}`);
  };
  if (interrupted) {
    process.off('SIGINT', early);
    process.off('SIGTERM', early);
    await finish();
    return 130;
  }
  // The shutdown handler takes over from the early one with no await in between: no signal finds neither.
  const done = onShutdown(finish);
  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  console.error(`cluster ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; Ctrl-C removes it`);
  if (cluster.backend) {
    const { server, user, password } = cluster.backend;
    await writeFile(credentialsPath(cluster), JSON.stringify({ server, user, password }) + '\n', { mode: 0o600 });
  }
  // The suite context: run any scenario against this cluster with DKC_CONTEXT=<file> node dist/suites/<id>/scenario.js
  writeContext(contextPath(cluster), contextFor(cluster, { k8sVersion: cluster.version, minor: profile.minor, provisioner: o.provisioner !== false }));
  console.log(readyLine(cluster, o.name));
  await done;
  return 0;
}

async function detach(o: ClusterUpOptions): Promise<number> {
  await mkdir(stateDir(), { recursive: true });
  const log = join(stateDir(), `${o.name}.log`);
  const fd = openSync(log, 'w');
  const argv = process.argv.slice(1).filter((a) => a !== '--detach');
  const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  for (let i = 0; i < 600; i++) {
    await sleep(250);
    const text = await readFile(log, 'utf8').catch(() => '');
    const line = text.split('\n').find((l) => l.startsWith('ready '));
    if (line) {
      console.log(line);
      return 0;
    }
    if (child.exitCode !== null || !alive(child.pid!)) {
      console.error(text.trim());
      throw new HarnessError('COMMAND_FAILED', `the cluster failed to start; its log is ${log}`);
    }
  }
  throw new HarnessError('TIMEOUT', `the cluster did not become ready in 150 s; its log is ${log} (run 'dkc cluster down --name ${o.name}')`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


export interface ClusterDownOptions {
  name?: string;
  /** Every recorded cluster, then every dkc kind cluster on the Docker host. */
  all?: boolean;
  /** Say also what was not looked at (no Docker) and that nothing was found. */
  verbose?: boolean;
}

/**
 * Stop a detached cluster (or sweep what a killed one left). `all` takes every recorded cluster, then sweeps the
 * dkc kind clusters a killed run left (where Docker answers). Exit code 1 when anything could not be removed.
 */
export async function clusterDown(o: ClusterDownOptions, deps: KindSweepDeps = {}): Promise<number> {
  const kind = kindSweeper(deps);
  const names = o.all ? (await readdir(stateDir()).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [o.name ?? 'dkc'];
  let failed = false;
  for (const name of names) {
    const st = await readRecord(name);
    if (!st) {
      if (!o.all) console.error(`no cluster named ${name} is recorded in ${stateDir()}; nothing to do`);
      continue;
    }
    // pid 0: a record kept for its leftovers after its process ended (the pid could be another process's by now).
    if (st.pid > 0 && alive(st.pid)) {
      process.kill(st.pid, 'SIGTERM');
      for (let i = 0; i < 240 && alive(st.pid); i++) await sleep(250);
      if (alive(st.pid)) {
        console.error(`cluster ${name} (pid ${st.pid}) did not stop in 60 s; killing it and sweeping`);
        process.kill(st.pid, 'SIGKILL');
      }
    }
    const { left, keep } = await sweep(name, st, kind);
    if (left.length) {
      failed = true;
      console.error(`cluster ${name}: could not remove ${left.join('; ')}`);
    } else console.error(`cluster ${name} is down; nothing of it is left`);
    // A kind work dir that could not be swept stays with its record, for the next `dkc cluster down`.
    if (keep) await orphanRecord(st);
    else await rm(join(stateDir(), `${name}.json`), { force: true });
    await rm(join(stateDir(), `${name}.log`), { force: true });
  }
  if (o.all && (await kind.all(o)).length) failed = true;
  return failed ? 1 : 0;
}

/** Pids of the cluster's processes (not this one). */
export async function clusterProcesses(st: Pick<StateRecord, 'workDir' | 'owner'>): Promise<number[]> {
  const found: number[] = [];
  const mark = st.owner ? `${OWNER_ENV}=${st.owner}\0` : undefined;
  for (const d of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const env = mark ? await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '') : '';
    if (cmd.includes(st.workDir) || (mark && env.includes(mark))) found.push(pid);
  }
  return found;
}

/**
 * What a process killed with SIGKILL leaves: its processes, mounts under the work dir, namespaces, a kind cluster's
 * Docker things (named in the work dir's kind record), the dir. `keep`: the dir stays (a kind sweep left things).
 */
async function sweep(name: string, st: StateRecord, kind: KindSweeper): Promise<{ left: string[]; keep: boolean }> {
  const left: string[] = [];
  if (!st.workDir || !/dkc-/.test(st.workDir)) return { left: [`refusing to sweep unexpected work dir ${st.workDir}`], keep: false };
  // Processes that belong to the cluster: anything with the work dir on its command line (containers, drivers'
  // daemons) or the cluster's owner mark in its environment (tgtd, the provisioner, qemu-storage-daemon).
  for (const pid of await clusterProcesses(st)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  // Loops before mounts: once a FUSE export is unmounted, the loop over it no longer shows where it came from.
  await detachLoopsUnder(st.workDir);
  for (const m of (await readMounts()).filter((x) => under(x.target, st.workDir)).reverse()) await run(['umount', '-l', m.target], { nothrow: true });
  await sweepNetworks(st.id);
  const netns = await run(['ip', 'netns', 'list'], { nothrow: true });
  for (const line of netns.stdout.split('\n')) if (line.startsWith(`dkc-${st.id}-`)) left.push(`network namespace ${line.split(' ')[0]}`);
  if (kind.isKind(st.workDir)) {
    const kindLeft = await kind.record(name, st.id, st.workDir);
    if (kindLeft.length) return { left: [...left, ...kindLeft], keep: true };
  }
  await rm(st.workDir, { recursive: true, force: true }).catch((e: Error) => left.push(`${st.workDir}: ${e.message}`));
  return { left, keep: false };
}
