// The never-logout variant of the reference driver through the run loop on the embedded cluster (see
// broken-drivers-contract.ts for what is expected of it and why). Needs root and the node tools.
import t from 'tap';
import { existsSync } from 'node:fs';
import { missingFacility } from '../../clusters/embedded/node/runtime/root-test-env.js';
import { stopClustersOnSignals } from '../../clusters/embedded/cluster.js';
import { BROKEN_CASES, provesCaught } from './broken-drivers-contract.js';

const skip = (await missingFacility(['busybox', 'mariadbd', 'tgtd', 'qemu-storage-daemon', 'mkfs.xfs', 'losetup'])) ?? (existsSync('dist/drivers/flexvolume/broken/main.js') ? undefined : 'dist/ is not built (npm run build)');
if (skip) t.comment(`skipping the never-logout driver run: ${skip}`);
else {
  stopClustersOnSignals();
  const c = BROKEN_CASES.find((x) => x.variant === 'never-logout')!;
  await t.test(c.caughtBy ? `never-logout is caught by ${c.caughtBy.scenario}` : 'never-logout passes (a valid driver)', (t) => provesCaught(t, c, process.env.DKC_E2E_K8S ?? 'v1.32'));
}
