// Prints the npm packages the drivers import at run time, one a line: the bare import specifiers reachable from the
// three entry points (FlexVolume driver, provisioner, userspace iscsiadm) through relative imports in dist/.
// images/driver/stage prunes the image's node_modules to these.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';

export const ENTRY_POINTS = ['drivers/flexvolume/main.js', 'drivers/provisioner/main.js', 'drivers/iscsiadm/iscsiadm-cli.js'];

/** `import x from 'a'`, `export * from 'a'`, `import 'a'`, `import('a')`; comments are not stripped (tsc drops them). */
const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The package name of a bare specifier: `@scope/name/x` -> `@scope/name`, `name/x` -> `name`. */
export function packageOf(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export function runtimePackages(distDir, entries = ENTRY_POINTS) {
  const seen = new Set();
  const packages = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!existsSync(file)) throw new Error(`${file} is missing (imported from the drivers; is dist/ built?)`);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) packages.add(packageOf(spec));
    }
  };
  for (const e of entries) walk(resolve(join(distDir, e)));
  return [...packages].sort();
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const dist = process.argv[2];
  if (!dist) {
    console.error('usage: node runtime-deps.mjs DIST_DIR');
    process.exit(2);
  }
  for (const p of runtimePackages(dist)) console.log(p);
}
