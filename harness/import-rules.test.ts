// The folder rules from the house style, checked on the real import graph: a suite that imports a provider, or a
// mock that imports the harness, fails here instead of breaking one provider later.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = process.cwd();
const FOLDERS = ['lib', 'harness', 'clusters', 'mocks', 'drivers', 'suites'];

/** Which top-level folders a file in `from` may import, for runtime code and for tests. */
const allowed: Record<string, { code: string[]; tests: string[] }> = {
  lib: { code: ['lib'], tests: ['lib'] },
  mocks: { code: ['mocks', 'lib'], tests: ['mocks', 'lib', 'drivers'] },
  drivers: { code: ['drivers', 'lib'], tests: ['drivers', 'lib', 'mocks'] },
  clusters: { code: ['clusters', 'lib', 'mocks', 'drivers'], tests: ['clusters', 'lib', 'mocks', 'drivers', 'harness'] },
  harness: { code: ['harness', 'lib', 'mocks', 'drivers', 'clusters'], tests: ['harness', 'lib', 'mocks', 'drivers', 'clusters'] },
  suites: { code: ['suites', 'harness/index.ts'], tests: ['suites', 'harness/index.ts'] },
};

function* sources(dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

export function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push((m[1] ?? m[2])!);
  return specs;
}

t.test('every relative import stays inside what its folder may use', async (t) => {
  const violations: string[] = [];
  let checked = 0;
  for (const folder of FOLDERS) {
    for (const file of sources(join(ROOT, folder))) {
      const rel = relative(ROOT, file);
      const rules = allowed[folder]!;
      // Shared test bodies (*-contract.ts) are test code.
      const ok = /\.test\.ts$|-contract\.ts$/.test(rel) ? rules.tests : rules.code;
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        checked++;
        const target = relative(ROOT, normalize(join(dirname(file), spec))).replace(/\.js$/, '.ts');
        if (!ok.some((a) => target === a || target.startsWith(`${a}/`))) violations.push(`${rel} imports ${target}`);
      }
    }
  }
  t.ok(checked > 20, `checked ${checked} imports`);
  t.same(violations, [], 'no import crosses a folder boundary');
});

t.test('the checker sees static, re-export and dynamic imports (it can fail)', async (t) => {
  const dyn = ['imp', "ort('../../z.js')"].join('');
  t.same(importsOf(`import { a } from '../x.js';\nexport * from "./y.js";\nconst m = await ${dyn};`), ['../x.js', './y.js', '../../z.js']);
});
