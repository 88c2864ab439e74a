/**
 * iSCSI inside the nodes: kind's node image has open-iscsi (kind >=
 * 0.16) but starts no iscsid and every node of every cluster shares the image's initiator name. Each node gets its
 * own name and a running iscsid; the kernel's iscsi_tcp comes from the host (kind mounts /lib/modules read-only).
 *
 * Expected to fail at the first login, not here (unverified: nothing here has run on real kind). Upstream says
 * iscsid must be in the host's network namespace: open-iscsi's maintainer (open-iscsi/open-iscsi#177: "Running
 * iscsiadm and/or iscsid in a container does require using a privileged container with the host network
 * namespace"), Longhorn (longhorn/longhorn#112: iscsid in kubeadm-dind nodes fails its own health check) and
 * kubernetes-csi/csi-lib-iscsi#3 (the kernel's iSCSI netlink is not namespaced: one iscsid per kernel). A kind node
 * has its own network namespace, and this starts one iscsid per node (three per cluster, more with clusters in
 * parallel, plus the host's own if it runs one). Starting iscsid succeeds; session creation goes through that
 * netlink socket. The ways the ecosystem uses (Longhorn, democratic-csi) are one iscsid in the host's namespaces, with
 * the driver's iscsiadm run there (nsenter or a --net=host --pid=host helper); that changes the driver contract
 * (where iscsiadm runs), so it is left for a decision and this action is kept as is.
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
