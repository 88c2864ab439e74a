// Coverage is measured for unit tests only: foo.test.ts covers foo.ts. Integration tests (root, docker, fuzz,
// e2e) exercise whole stacks; counting them would let a lucky end-to-end path hide untested units.
import { existsSync } from 'node:fs';

export default function coverageMap(testFile) {
  if (/\.(root|docker|fuzz|e2e)\.test\.ts$/.test(testFile) || /-fuzz\.test\.ts$/.test(testFile)) return null;
  const src = testFile.replace(/\.test\.ts$/, '.ts');
  return existsSync(src) ? src : null;
}
