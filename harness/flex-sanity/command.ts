/**
 * `dkc flex-sanity`: validate the flags, run the emulator, print TAP on stdout, write JUnit, say timings on stderr.
 * Bad flags throw HarnessError BAD_INPUT (the CLI exits 2); the exit code is otherwise 0 only when no check failed or
 * errored.
 */
import { constants } from 'node:fs';
import { access, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { HarnessError, errorMessage } from '../../lib/errors.js';
import { exitCodeFor, percentile, renderJUnit, renderTap, selectProfiles, summarize, type K8sProfile } from './flex-sanity.js';
import type { BackendSpec, FlexSanityOptions, FlexSanityReport } from './runner.js';

/** What the command talks to; tests pass their own. */
export interface CommandIo {
  run?: (o: FlexSanityOptions) => Promise<FlexSanityReport>;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

export interface FlexSanityFlags {
  driver: string;
  k8s?: string;
  backend?: string;
  user?: string;
  password?: string;
  junit?: string;
  nodesDir?: string;
}

/** Everything that can be wrong with the flags, found before anything starts. */
export async function validateFlags(o: FlexSanityFlags, env: NodeJS.ProcessEnv = process.env): Promise<{ driver: string; profiles: K8sProfile[]; backend?: BackendSpec }> {
  const driver = resolve(o.driver);
  const st = await stat(driver).catch(() => undefined);
  if (!st?.isFile()) throw new HarnessError('BAD_INPUT', `--driver ${o.driver}: no such file; give the driver executable, e.g. drivers/flexvolume/datera~iscsi/iscsi`);
  try {
    await access(driver, constants.X_OK);
  } catch {
    throw new HarnessError('BAD_INPUT', `--driver ${o.driver} is not executable; chmod +x it (kubelet execs it directly)`);
  }
  let profiles: K8sProfile[];
  try {
    profiles = selectProfiles(o.k8s);
  } catch (err) {
    throw new HarnessError('BAD_INPUT', `--k8s: ${errorMessage(err)}`);
  }
  let backend: BackendSpec | undefined;
  if (o.backend !== undefined) {
    if (!/^(https?:\/\/)?[\w.-]+(:\d+)?\/?$/.test(o.backend)) throw new HarnessError('BAD_INPUT', `--backend '${o.backend}' is not a Datera API address; give host:port or http(s)://host:port`);
    const user = o.user ?? env.DATERA_USER;
    const password = o.password ?? env.DATERA_PASSWORD;
    if (!user || !password) throw new HarnessError('BAD_INPUT', '--backend needs credentials: --user and --password, or DATERA_USER and DATERA_PASSWORD (preferred: keeps the password out of ps)');
    backend = { url: o.backend, user, password };
  } else if (o.user !== undefined || o.password !== undefined) throw new HarnessError('BAD_INPUT', '--user and --password only go with --backend (the mock makes its own account)');
  return { driver, profiles, ...(backend ? { backend } : {}) };
}

export async function flexSanityCommand(o: FlexSanityFlags, io: CommandIo = {}): Promise<number> {
  const v = await validateFlags(o);
  const err = io.stderr ?? ((s: string) => process.stderr.write(s));
  const out = io.stdout ?? ((s: string) => process.stdout.write(s));
  const runFlexSanity = io.run ?? (await import('./runner.js')).runFlexSanity;
  const status = (line: string) => err(`flex-sanity: ${line}\n`);
  status(`driver ${v.driver}; profiles ${v.profiles.map((p) => p.version).join(', ')}; backend ${v.backend ? v.backend.url : 'mock Datera (tgtd targets)'}`);
  // Ctrl-C: finish the case in flight and clean up (mounts, sessions, volumes, the mock) rather than leave them.
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    status(ac.signal.aborted ? `${sig} again: still cleaning up, please wait` : `${sig}: finishing the current case, then cleaning up`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: FlexSanityReport;
  try {
    report = await runFlexSanity({ driver: v.driver, profiles: v.profiles, ...(v.backend ? { backend: v.backend } : {}), ...(o.nodesDir ? { nodesDir: o.nodesDir } : {}), status, signal: ac.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  out(renderTap(report.results));
  if (o.junit) {
    await mkdir(dirname(resolve(o.junit)), { recursive: true });
    await writeFile(o.junit, renderJUnit(report.results));
    status(`JUnit written to ${o.junit}`);
  }
  for (const t of report.timings) status(`${t.profile} (emulated): ${(t.ms / 1000).toFixed(1)} s`);
  if (report.attachToMountedMs.length)
    status(`attach to mounted: p50 ${Math.round(percentile(report.attachToMountedMs, 50))} ms, p99 ${Math.round(percentile(report.attachToMountedMs, 99))} ms over ${report.attachToMountedMs.length} set-ups`);
  const s = summarize(report.results);
  status(`${s.passed} passed, ${s.failed} failed, ${s.error} error, ${s.skipped} skipped`);
  return exitCodeFor(report.results);
}
