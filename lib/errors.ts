/**
 * Every error a user can see is a HarnessError: a stable `code` (for scripts and reports), a message that says
 * what is wrong and how to fix it, and the `cause` that led to it.
 */
export type ErrorCode =
  | 'BAD_INPUT'
  | 'BAD_CONFIG'
  | 'COMMAND_FAILED'
  | 'TIMEOUT'
  | 'MISSING_TOOL'
  | 'NOT_ROOT'
  | 'TARGET_HOST'
  | 'DOCKER_UNAVAILABLE'
  | 'INTERNAL';

export class HarnessError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
    this.code = code;
  }
}

/** A spawned command that failed: carries the argv and the tail of its output so it can be pasted and re-run. */
export class CommandError extends HarnessError {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(argv: readonly string[], exitCode: number | null, signal: string | null, stdout: string, stderr: string, cause?: unknown) {
    const tail = (s: string) => s.trim().split('\n').slice(-8).join('\n');
    const how = signal ? `was killed by ${signal}` : `exited ${exitCode}`;
    const out = [tail(stderr), tail(stdout)].filter(Boolean).join('\n');
    super('COMMAND_FAILED', `command ${how}: ${formatArgv(argv)}${out ? `\n${out}` : ''}`, { cause });
    this.name = 'CommandError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** A wait that ran out of time: says what it waited for and the last thing it saw. */
export class TimeoutError extends HarnessError {
  constructor(what: string, ms: number, lastSeen: string) {
    super('TIMEOUT', `timed out after ${ms} ms waiting for ${what}; last seen: ${lastSeen}`);
    this.name = 'TimeoutError';
  }
}

/** Quote argv the way a POSIX shell would read it back, for error messages a person can re-run. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
