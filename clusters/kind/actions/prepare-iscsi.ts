/**
 * iSCSI inside the nodes (shared/reference/kind-calico.md section 4): kind's node image has open-iscsi (kind >=
 * 0.16) but starts no iscsid and every node of every cluster shares the image's initiator name. Each node gets its
 * own name and a running iscsid; the kernel's iscsi_tcp comes from the host (/lib/modules is mounted). The
 * reference warns that iscsid in a container that is not in the host's network namespace is not expected to work
 * reliably: this is the part of the kind path least proven.
 */
import { HarnessError } from '../../../lib/errors.js';
import type { KindAction } from './context.js';

export const initiatorName = (node: string) => `iqn.1993-08.org.debian:01:${node}`;

export const prepareIscsi: KindAction = {
  name: 'prepare iscsi',
  async run(ctx) {
    const first = ctx.nodes[0]!.name;
    const loaded = await ctx.tools.docker(['exec', first, 'test', '-d', '/sys/module/iscsi_tcp'], { nothrow: true });
    if (loaded.exitCode !== 0) {
      const m = await ctx.tools.docker(['exec', first, 'modprobe', 'iscsi_tcp'], { nothrow: true });
      if (m.exitCode !== 0) throw new HarnessError('MISSING_TOOL', `the host kernel has no iscsi_tcp module (modprobe in ${first}: ${m.stderr.trim()}); run \`sudo modprobe iscsi_tcp\` on the Docker host (Ubuntu: linux-modules-extra-$(uname -r))`);
    }
    for (const n of ctx.nodes) {
      ctx.checkAbort();
      // The name is an argument of the script, never spliced into it.
      await ctx.tools.docker(['exec', n.name, 'sh', '-c', 'printf "InitiatorName=%s\\n" "$1" > /etc/iscsi/initiatorname.iscsi', 'sh', initiatorName(n.name)]);
      const r = await ctx.tools.docker(['exec', n.name, 'systemctl', 'restart', 'iscsid.service'], { nothrow: true });
      if (r.exitCode !== 0) throw new HarnessError('COMMAND_FAILED', `iscsid does not start in node ${n.name} (${(r.stderr || r.stdout).trim()}); the node image needs open-iscsi (kind >= v0.16.0 images have it)`);
    }
    ctx.log('iscsi prepared', { initiators: ctx.nodes.map((n) => initiatorName(n.name)) });
  },
};
