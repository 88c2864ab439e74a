/**
 * Run one scenario as a child process: `node <suitesDir>/<id>/scenario.js` with `DKC_CONTEXT` naming its suite
 * context. It runs in a process group of its own (a terminal's Ctrl-C reaches only the harness, which stops it in
 * order) and the whole group is killed when it ends, so nothing it started outlives it. A scenario that runs past
 * its timeout, or is running when the run is interrupted, gets SIGTERM, then SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessEnd } from './results.js';

export interface ScenarioProcessOptions {
  /** The suites directory holding `<id>/scenario.js`. */
  suitesDir: string;
  id: string;
  /** Path of the context file (DKC_CONTEXT). */
  contextFile: string;
  /** The results file named in the context; read when the process has ended. */
  resultsFile: string;
  /** The command that runs a scenario file (default: this Node.js). */
  node: readonly string[];
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface ScenarioProcessOutcome {
  end: ProcessEnd;
  /** stdout and stderr as they came (TAP and diagnostics), for the artifact. */
  output: string;
  resultsText: string;
  durationMs: number;
  /** The process group id, for tests that check it is gone. */
  pid?: number;
}

const MAX_OUTPUT = 8 * 1024 * 1024;

/** Signal a whole process group; it being gone already is fine. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export async function runScenarioProcess(o: ScenarioProcessOptions): Promise<ScenarioProcessOutcome> {
  const started = performance.now();
  const file = join(o.suitesDir, o.id, 'scenario.js');
  const elapsed = () => performance.now() - started;
  if (!existsSync(file)) return { end: { exitCode: null, signal: null, notFound: file, stderrTail: '' }, output: '', resultsText: '', durationMs: elapsed() };
  if (o.signal?.aborted) return { end: { exitCode: null, signal: null, interrupted: true, stderrTail: '' }, output: '', resultsText: '', durationMs: 0 };

  const [cmd, ...args] = o.node;
  const child = spawn(cmd!, [...args, file], {
    env: { ...(o.env ?? process.env), DKC_CONTEXT: o.contextFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let stderr = '';
  const keep = (s: string, add: string, max: number) => (s.length + add.length > max ? (s + add).slice(-max) : s + add);
  child.stdout!.on('data', (b: Buffer) => (output = keep(output, b.toString(), MAX_OUTPUT)));
  child.stderr!.on('data', (b: Buffer) => {
    output = keep(output, b.toString(), MAX_OUTPUT);
    stderr = keep(stderr, b.toString(), 64 * 1024);
  });

  let timedOut = false;
  let interrupted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (killTimer || child.pid === undefined) return;
    killGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), o.killGraceMs);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, o.timeoutMs);
  const onAbort = () => {
    interrupted = true;
    stop();
  };
  o.signal?.addEventListener('abort', onAbort);

  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  clearTimeout(killTimer);
  o.signal?.removeEventListener('abort', onAbort);
  // Whatever it left running in its group (port-forwards, watchers) goes with it.
  if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
  // The pipes close once the group is gone; do not wait forever for a grandchild that escaped the group.
  await Promise.race([Promise.all([streamClosed(child.stdout!), streamClosed(child.stderr!)]), new Promise((r) => setTimeout(r, 2000).unref())]);
  if (ended.spawnError) stderr += `\ncannot start ${o.node.join(' ')}: ${ended.spawnError.message}`;
  const resultsText = await readFile(o.resultsFile, 'utf8').catch(() => '');
  return {
    end: {
      exitCode: ended.code,
      signal: ended.signal,
      ...(timedOut ? { timedOutAfterMs: o.timeoutMs } : {}),
      ...(interrupted && !timedOut ? { interrupted: true } : {}),
      stderrTail: stderr,
    },
    output,
    resultsText,
    durationMs: elapsed(),
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
  };
}

function streamClosed(s: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    if ((s as { closed?: boolean }).closed) resolve();
    else s.once('close', () => resolve());
  });
}
