/**
 * The run's files: where each cluster's and scenario's artifacts go under the report dir, listing them for the
 * report, and scrubbing known secrets out of them (a mock request log or an event can carry the backend password;
 * artifacts are shared like the reports are).
 */
import { readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Artifact } from '../report/model.js';
import { MASK } from '../report/redact.js';

/** `v1.32.9 (emulated)` -> `v1.32.9-emulated`: a directory name per cluster. */
export function versionSlug(label: string): string {
  return (
    label
      .replace(/\s*\(emulated\)\s*$/, '-emulated')
      .replace(/[^A-Za-z0-9.+_-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'cluster'
  );
}

/** Every file under `dir`, depth first, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/** The files under `dir` as report artifacts (paths relative to the report dir); an empty dir is removed. */
export async function artifactsIn(dir: string, reportDir: string, prefix = ''): Promise<Artifact[]> {
  const files = await listFiles(dir);
  if (!files.length) {
    await rmdir(dir).catch(() => undefined);
    return [];
  }
  return files.map((f) => ({ name: `${prefix}${relative(dir, f)}`, path: relative(reportDir, f) }));
}

const MAX_SCRUB = 256 * 1024 * 1024;

/**
 * Replace every occurrence of each secret in every file under `dir` by the report mask, byte for byte (binary
 * files stay intact apart from the secret itself). Returns how many files were changed.
 */
export async function scrubSecrets(dir: string, secrets: readonly string[]): Promise<number> {
  const known = [...new Set(secrets.filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length).map((s) => Buffer.from(s, 'utf8'));
  if (!known.length) return 0;
  let changed = 0;
  for (const f of await listFiles(dir)) {
    if ((await stat(f)).size > MAX_SCRUB) continue;
    const buf = await readFile(f);
    if (!known.some((k) => buf.includes(k))) continue;
    // latin1 maps each byte to one char, so a literal replace cannot corrupt the bytes around a secret.
    let text = buf.toString('latin1');
    for (const k of known) text = text.split(k.toString('latin1')).join(MASK);
    await writeFile(f, Buffer.from(text, 'latin1'));
    changed++;
  }
  return changed;
}
