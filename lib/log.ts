/**
 * One structured logger: JSON lines to a file (or nowhere), secrets redacted by key name and by value.
 */
import { appendFileSync } from 'node:fs';

const SECRET_KEYS = /pass(w(or)?d)?|secret|token|^key$|auth-token|authorization|pswd|credential/i;

export const REDACTED = '[redacted]';

/** Deep-copy `value`, replacing every field whose name looks like a secret, and every known secret string. */
export function redact(value: unknown, secrets: readonly string[] = []): unknown {
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 20) return '[deep]';
    if (typeof v === 'string') return secrets.reduce((s, sec) => (sec && sec.length >= 3 ? s.split(sec).join(REDACTED) : s), v);
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEYS.test(k) && x !== '' && x !== undefined ? REDACTED : walk(x, depth + 1);
      return out;
    }
    return v;
  };
  return walk(value, 0);
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export function createLogger(opts: { file?: string; bindings?: Record<string, unknown>; secrets?: () => readonly string[] } = {}): Logger {
  const write = (level: string, msg: string, fields?: Record<string, unknown>) => {
    if (!opts.file) return;
    const line = redact({ level, time: new Date().toISOString(), msg, ...opts.bindings, ...fields }, opts.secrets?.() ?? []);
    appendFileSync(opts.file, JSON.stringify(line) + '\n');
  };
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (b) => createLogger({ ...opts, bindings: { ...opts.bindings, ...b } }),
  };
}
