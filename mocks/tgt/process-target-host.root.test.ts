import t from 'tap';
import { access } from 'node:fs/promises';
import { which } from '../../lib/exec.js';
import { findTgtd, ProcessTargetHost, StartedProcessTargetHost } from './process-target-host.js';
import { missingInitiatorTools, portalRefuses, targetHostContract } from './target-host-contract.js';

const skip =
  process.getuid?.() !== 0 ? 'needs root: tgtd manages /var/run/tgtd' : !(await which('tgtd')) ? 'tgtd is not installed (apt-get install tgt)' : await missingInitiatorTools();

targetHostContract(t, {
  name: 'process target host',
  skip,
  create: (opts) => new ProcessTargetHost(opts),
  async leftovers(host) {
    if (!(host instanceof StartedProcessTargetHost)) return ['not a process host'];
    const port = host.controlPort;
    const left = (await findTgtd(port)).map((pid) => `tgtd pid ${pid} (-C ${port})`);
    for (const f of [`/var/run/tgtd/socket.${port}`, `/var/run/tgtd/socket.${port}.lock`]) {
      if (await access(f).then(() => true, () => false)) left.push(f);
    }
    // Loopback portals are ours alone, so probing them after stop() is safe.
    for (const p of host.portals) if (!(await portalRefuses(p))) left.push(`portal ${p} still accepts connections`);
    return left;
  },
});
