/**
 * The one place that spawns processes. argv arrays only (never shell strings); failures throw CommandError with
 * the argv and output tail; every call has a timeout.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { CommandError, HarnessError } from './errors.js';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** Milliseconds before the process is killed (SIGKILL). Default 60 s. */
  timeoutMs?: number;
  /** Return the result instead of throwing on a non-zero exit. */
  nothrow?: boolean;
  /** Strings to mask in error messages (passwords on argv). */
  secrets?: readonly string[];
  /**
   * Own process group: a terminal's Ctrl-C reaches only the harness, which then stops this process in its own
   * cleanup order (daemons such as tgtd must outlive the things that use them until those are torn down).
   */
  detached?: boolean;
}

export interface RunResult {
  argv: readonly string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new HarnessError('INTERNAL', 'run() needs a command');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: opts.detached };
    const child = spawn(argv[0]!, argv.slice(1), spawnOpts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') {
        reject(new HarnessError('MISSING_TOOL', `${argv[0]} is not installed or not on PATH (run: npm run setup)`, { cause: e }));
      } else reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const mask = (s: string) => (opts.secrets ?? []).reduce((acc, sec) => (sec ? acc.split(sec).join('***') : acc), s);
      const result: RunResult = {
        argv: argv.map(mask),
        exitCode: code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: mask(Buffer.concat(err).toString('utf8')),
        durationMs: performance.now() - started,
      };
      if (code === 0 || opts.nothrow) resolve(result);
      else reject(new CommandError(result.argv, code, signal, mask(result.stdout), result.stderr));
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** True when `cmd` is found on PATH. */
export async function which(cmd: string): Promise<string | undefined> {
  const r = await run(['sh', '-c', 'command -v "$1"', 'which', cmd], { nothrow: true });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}
