// The mock with host tgtd targets, end to end over real iSCSI. Needs root (tgtd) and the libiscsi tools.
import t from 'tap';
import { access } from 'node:fs/promises';
import { which } from '../../lib/exec.js';
import { findTgtd, StartedProcessTargetHost } from '../tgt/process-target-host.js';
import { missingInitiatorTools, portalRefuses } from '../tgt/target-host-contract.js';
import { mockIscsiContract } from './mock-iscsi-contract.js';

const skip =
  process.getuid?.() !== 0 ? 'needs root: tgtd manages /var/run/tgtd' : !(await which('tgtd')) ? 'tgtd is not installed (npm run setup)' : await missingInitiatorTools();

mockIscsiContract(t, 'process', skip, async (m) => {
  const host = m.targetHost;
  if (!(host instanceof StartedProcessTargetHost)) return ['not a process target host'];
  const left = (await findTgtd(host.controlPort)).map((pid) => `tgtd pid ${pid}`);
  if (await access(`/var/run/tgtd/socket.${host.controlPort}`).then(() => true, () => false)) left.push('tgtd control socket');
  for (const p of host.portals) if (!(await portalRefuses(p))) left.push(`portal ${p} still listening`);
  if (await access(m.stateDir).then(() => false, () => false)) left.push('state dir');
  return left;
});
