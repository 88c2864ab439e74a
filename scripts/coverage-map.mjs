// Coverage is measured for unit tests only. A unit test covers its namesake (foo.test.ts -> foo.ts) plus the
// modules listed for it below. Integration tests (root, docker, fuzz, e2e) exercise whole stacks; counting them
// would let a lucky end-to-end path hide untested units.
import { existsSync } from 'node:fs';

const extra = {
  'harness/flex-sanity/flex-sanity.test.ts': ['lib/flex-wire.ts'],
  // The creation steps, one file each, are exercised through the provider's start/stop with recorded fake tools.
  'clusters/kind/kind-cluster.test.ts': ['clusters/kind/actions/check-tools.ts', 'clusters/kind/actions/context.ts', 'clusters/kind/actions/create-cluster.ts', 'clusters/kind/actions/index.ts', 'clusters/kind/actions/install-calico.ts', 'clusters/kind/actions/install-credentials.ts', 'clusters/kind/actions/install-driver.ts', 'clusters/kind/actions/install-provisioner.ts', 'clusters/kind/actions/load-images.ts', 'clusters/kind/actions/load.ts', 'clusters/kind/actions/prepare-calico.ts', 'clusters/kind/actions/prepare-images.ts', 'clusters/kind/actions/prepare-iscsi.ts', 'clusters/kind/actions/start-backend.ts', 'clusters/kind/actions/wait-ready.ts', 'clusters/kind/actions/write-config.ts'],
  'mocks/datera/mock-datera.test.ts': ['mocks/datera/api.ts', 'mocks/datera/render.ts', 'mocks/datera/validate.ts', 'mocks/datera/errors.ts', 'mocks/datera/schema.ts', 'drivers/datera/client.ts'],
};

export default function coverageMap(testFile) {
  if (/\.(root|docker|fuzz|e2e)\.test\.ts$/.test(testFile) || /-fuzz\.test\.ts$/.test(testFile)) return null;
  const src = testFile.replace(/\.test\.ts$/, '.ts');
  const files = [...(existsSync(src) ? [src] : []), ...(extra[testFile] ?? [])];
  return files.length ? files : null;
}
