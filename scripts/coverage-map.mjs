// Coverage is measured for unit tests only. A unit test covers its namesake (foo.test.ts -> foo.ts) plus the
// modules listed for it below. Integration tests (root, docker, fuzz, e2e) exercise whole stacks; counting them
// would let a lucky end-to-end path hide untested units.
import { existsSync } from 'node:fs';

const extra = {
  'harness/flex-sanity/flex-sanity.test.ts': ['lib/flex-wire.ts'],
  'mocks/datera/mock-datera.test.ts': ['mocks/datera/api.ts', 'mocks/datera/render.ts', 'mocks/datera/validate.ts', 'mocks/datera/errors.ts', 'mocks/datera/schema.ts', 'drivers/datera/client.ts'],
};

export default function coverageMap(testFile) {
  if (/\.(root|docker|fuzz|e2e)\.test\.ts$/.test(testFile) || /-fuzz\.test\.ts$/.test(testFile)) return null;
  const src = testFile.replace(/\.test\.ts$/, '.ts');
  const files = [...(existsSync(src) ? [src] : []), ...(extra[testFile] ?? [])];
  return files.length ? files : null;
}
