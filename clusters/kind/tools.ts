/**
 * The three programs the kind provider drives, found and checked before anything is created, and the one wrapper
 * through which every call goes (lib/exec run(): argv arrays, timeouts, secrets masked, CommandError with the argv
 * and the output tail). Each call is also appended to the cluster's command log, so a failed run can be re-traced.
 *
 * kind: a matrix needs several kind releases (each node image is only guaranteed with the kind release that built
 * it, see versions.ts), so the binary is chosen per version from, in order: the `kind` option, `$DKC_KIND_DIR/kind-vX.Y.Z`,
 * `$DKC_KIND`, `kind` on PATH, and any other `kind-v*` in `$DKC_KIND_DIR`. The exact release wins; otherwise the
 * closest newer one is used with a warning; an older one is refused with the install hint.
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { run, type RunOptions, type RunResult } from '../../lib/exec.js';
import { CommandError, HarnessError, errorMessage, formatArgv } from '../../lib/errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ToolOverrides {
  /** A kind binary to use for this cluster (checked like any other candidate). */
  kind?: string;
  kubectl?: string;
  docker?: string;
}

export interface ResolvedKind {
  path: string;
  /** What `kind version` printed, `v0.31.0`. */
  release: string;
  /** False when a newer release than the version's own had to be used. */
  exact: boolean;
}

const KIND_VERSION_RE = /\bkind v(\d+)\.(\d+)\.(\d+)/;

/** `kind v0.31.0 go1.24.2 linux/amd64` -> `v0.31.0`; undefined when the output is not kind's. */
export function parseKindVersion(stdout: string): string | undefined {
  const m = KIND_VERSION_RE.exec(stdout);
  return m ? `v${Number(m[1])}.${Number(m[2])}.${Number(m[3])}` : undefined;
}

/** Orders `v0.17.0` style releases; malformed ones sort first. */
export function compareReleases(a: string, b: string): number {
  const p = (s: string) => (/^v(\d+)\.(\d+)\.(\d+)$/.exec(s) ?? [0, -1, -1, -1]).slice(1).map(Number);
  const [x, y] = [p(a), p(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

const goArch = (arch: string) => (arch === 'x64' ? 'amd64' : arch);

/** How to get kind `release`: `go install`, or the release binary from kind's download site. */
export function kindInstallHint(release: string, platform: string = process.platform, arch: string = process.arch): string {
  const url = `https://kind.sigs.k8s.io/dl/${release}/kind-${platform}-${goArch(arch)}`;
  return (
    `install it with \`go install sigs.k8s.io/kind@${release}\` (then copy $(go env GOPATH)/bin/kind to $DKC_KIND_DIR/kind-${release}), ` +
    `or download ${url} to $DKC_KIND_DIR/kind-${release} and chmod +x it`
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` on `env.PATH`, like `command -v`, but for the environment the tools will run with. */
export function findOnPath(name: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** Candidate kind binaries for `release`, most preferred first, without duplicates. */
export function kindCandidates(release: string, env: Env, explicit?: string): string[] {
  const dir = env.DKC_KIND_DIR;
  const list: (string | undefined)[] = [explicit, dir ? join(dir, `kind-${release}`) : undefined, env.DKC_KIND || undefined, findOnPath('kind', env)];
  if (dir) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      // A missing DKC_KIND_DIR is reported through the hint when nothing else is found.
    }
    for (const n of names.filter((n) => /^kind-v\d+\.\d+\.\d+$/.test(n)).sort((a, b) => compareReleases(a.slice(5), b.slice(5)))) list.push(join(dir, n));
  }
  const seen = new Set<string>();
  return list.filter((p): p is string => !!p && !seen.has(p) && (seen.add(p), isExecutable(p)));
}

/**
 * The kind binary for a cluster of `release` (the kind release that built its node image). Throws MISSING_TOOL with
 * the install hint when no candidate is at least that release.
 *
 * A newer release is used with a warning only. Unverified whether that works across kind 0.20, which started running
 * nodes with --cgroupns=private: images built by 0.19 and older are run differently (reference section 1;
 * cluster-api's test/infrastructure/kind/mapper.go keeps separate "kind 0.19" and "kind 0.20" modes for them), so
 * the 1.19 and 1.20 rows (kind 0.17.0 images) under a newer kind may not come up. Left as a warning.
 */
export async function resolveKind(release: string, o: { env: Env; explicit?: string; forVersion: string; warn?: (msg: string) => void }): Promise<ResolvedKind> {
  const found: { path: string; release: string | undefined }[] = [];
  for (const path of kindCandidates(release, o.env, o.explicit)) {
    const r = await run([path, 'version'], { env: { ...o.env }, nothrow: true, timeoutMs: 15_000 }).catch((e: unknown) => ({ exitCode: 1, stdout: '', stderr: errorMessage(e) }));
    const v = r.exitCode === 0 ? parseKindVersion(r.stdout) : undefined;
    found.push({ path, release: v });
    if (v === release) return { path, release: v, exact: true };
  }
  const newer = found.filter((f): f is { path: string; release: string } => !!f.release && compareReleases(f.release, release) > 0).sort((a, b) => compareReleases(a.release, b.release));
  if (newer[0]) {
    o.warn?.(`kind ${release} built the ${o.forVersion} node image but only ${newer[0].release} (${newer[0].path}) was found; node images are only guaranteed with their own kind release: ${kindInstallHint(release)}`);
    return { path: newer[0].path, release: newer[0].release, exact: false };
  }
  const seen = found.length ? `found ${found.map((f) => `${f.path} (${f.release ?? 'not a kind binary'})`).join(', ')}, too old` : 'no kind binary found (looked at $DKC_KIND_DIR/kind-<release>, $DKC_KIND and kind on PATH)';
  throw new HarnessError('MISSING_TOOL', `kind ${release} or newer is needed for Kubernetes ${o.forVersion}; ${seen}; ${kindInstallHint(release)}`);
}

/** kubectl and docker: the option, then `$DKC_KUBECTL` / `$DKC_DOCKER`, then PATH. */
export function resolveTool(tool: 'kubectl' | 'docker', env: Env, explicit?: string): string {
  const envName = tool === 'kubectl' ? 'DKC_KUBECTL' : 'DKC_DOCKER';
  const given = explicit ?? env[envName];
  if (given) {
    if (!isExecutable(given)) throw new HarnessError('MISSING_TOOL', `${tool} ${given} (from ${explicit ? 'the options' : `$${envName}`}) is not an executable file`);
    return given;
  }
  const p = findOnPath(tool, env);
  if (p) return p;
  const hint =
    tool === 'kubectl'
      ? `install kubectl (https://kubernetes.io/docs/tasks/tools/) or set $DKC_KUBECTL to one`
      : `install Docker Engine (https://docs.docker.com/engine/install/) or set $DKC_DOCKER to the docker CLI`;
  throw new HarnessError('MISSING_TOOL', `${tool} is not on PATH; ${hint}`);
}

export interface KindToolsOptions {
  kind: string;
  kubectl: string;
  docker: string;
  kubeconfig: string;
  env: Env;
  /** Every command is appended here (argv, exit code, duration); secrets masked. */
  commandLog?: string;
  secrets?: () => readonly string[];
}

/** Runs kind, kubectl and docker for one cluster. */
export class KindTools {
  constructor(readonly o: KindToolsOptions) {}

  get kindPath(): string {
    return this.o.kind;
  }

  get dockerPath(): string {
    return this.o.docker;
  }

  kind(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.exec([this.o.kind, ...args], opts);
  }

  /** kubectl against this cluster (the kubeconfig is always explicit: the user's own is never read or changed). */
  kubectl(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.exec([this.o.kubectl, '--kubeconfig', this.o.kubeconfig, ...args], opts);
  }

  docker(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.exec([this.o.docker, ...args], opts);
  }

  private async exec(argv: string[], opts: RunOptions): Promise<RunResult> {
    const secrets = [...(opts.secrets ?? []), ...(this.o.secrets?.() ?? [])];
    const mask = (s: string) => secrets.reduce((acc, sec) => (sec ? acc.split(sec).join('***') : acc), s);
    let result: RunResult | undefined;
    let failure: unknown;
    try {
      result = await run(argv, { timeoutMs: 120_000, ...opts, env: { ...this.o.env, ...opts.env }, secrets });
      return result;
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      if (this.o.commandLog) {
        const code = result?.exitCode ?? (failure instanceof CommandError ? failure.exitCode : null);
        const line = { time: new Date().toISOString(), argv: mask(formatArgv(argv)), exitCode: code, ms: result ? Math.round(result.durationMs) : undefined, ...(failure ? { error: mask(errorMessage(failure)).slice(0, 2000) } : {}) };
        await appendFile(this.o.commandLog, JSON.stringify(line) + '\n').catch(() => undefined);
      }
    }
  }
}
