/**
 * Secret redaction for reports. Every writer redacts the whole model before rendering, so no field (message,
 * evidence, artifact name, environment) can slip through, and escaping can never split a secret in two.
 */
import { summarize, type RunReport } from './model.js';

export const MASK = '***';

// Key names whose values are secrets: password, passwd, secret, token (and compounds such as client_secret,
// Auth-Token, DKC_DATERA_PASSWORD), plus Authorization headers.
const KEY = String.raw`[\w.-]*(?:password|passwd|secret|token|authorization)[\w.-]*`;
// "key": "value" (JSON), with escaped quotes inside the value, or a bare scalar ("token": 123).
const JSON_PAIR = new RegExp(String.raw`("${KEY}"\s*:\s*)(?:"(?:[^"\\\n]|\\.)*"|(?![\s{\[])[^\s,}\]]+)`, 'gi');
// Authorization: Bearer xyz (the scheme is kept, the credential goes).
const AUTH_SCHEME = /(\bauthorization\s*[:=]\s*(?:bearer|basic|token)[ \t]+)[^\s,;"']+/gi;
// --password xyz (a flag and its separate argument).
const FLAG_ARG = new RegExp(String.raw`(--${KEY}[ \t]+)(?!-)[^\s]+`, 'gi');
// key: 'value' / key = "value" (YAML, env files, flags), quoted.
const QUOTED_PAIR = new RegExp(String.raw`(\b${KEY}\s*[:=]\s*)(['"])(?:(?!\2)[^\\\n]|\\.)*\2`, 'gi');
// key: value / key=value / --key=value, unquoted: up to whitespace or a separator.
const BARE_PAIR = new RegExp(String.raw`(\b${KEY}\s*[:=][ \t]*)(?!['"\s{\[])[^\s,;&"'}\]]+`, 'gi');

/** Escape a string for use inside a RegExp. */
function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Redact one text: every known secret value (longest first, so a secret containing another goes whole), then
 * the values of secret-named keys in JSON-, YAML- and flag-shaped text.
 */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  const known = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  if (known.length) out = out.replace(new RegExp(known.map(literal).join('|'), 'g'), MASK);
  return out
    .replace(JSON_PAIR, `$1"${MASK}"`)
    .replace(AUTH_SCHEME, `$1${MASK}`)
    .replace(FLAG_ARG, `$1${MASK}`)
    .replace(QUOTED_PAIR, `$1$2${MASK}$2`)
    .replace(BARE_PAIR, (m: string, key: string) => (/^(?:\*\*\*|bearer|basic|token)$/i.test(m.slice(key.length)) ? m : key + MASK));
}

/** A deep copy of `value` with every string redacted. */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactText(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** The report as the writers see it: every string redacted, and the summary recomputed from the results. */
export function redactReport(report: RunReport, secrets: readonly string[]): RunReport {
  return { ...redactDeep(report, secrets), summary: summarize(report.results) };
}
