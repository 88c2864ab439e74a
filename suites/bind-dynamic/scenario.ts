// bind-dynamic: a StorageClass for datera.io/provisioner-datera provisions a PV with the right options, and the
// backend volume has the requested size, replica count and template; a pod writes to it with the class's fsType.
import type * as k8s from '@kubernetes/client-node';
import { scenario, podReady, podSummary, type BackendTemplate } from '../../harness/index.js';

/** Keys that would put credentials into a PV: a provisioned PV must carry a secretRef instead. */
const CREDENTIAL_OPTIONS = ['serverUser', 'serverPasswd', 'backstoreServer'];

await scenario(
  'bind-dynamic',
  async (s) => {
    const sc = await s.storageClass({ replica: '2', fsType: 'ext4' }, 'Delete');
    await s.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'dyn' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: sc, resources: { requests: { storage: '2Gi' } } } });

    // The template a class asks for must exist on the backend: take one an administrator has made. Creating one
    // here would be the harness acting as the storage administrator, so without any the check is skipped.
    const tpl = pickTemplate(await s.backend!.templates());
    let tplClass = '';
    if (tpl) {
      // The class also says replica 3 (the default): the template's own count must win, as the guide says.
      tplClass = await s.storageClass({ template: tpl.name, replica: '3' }, 'Delete');
      await s.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'tpl' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: tplClass, resources: { requests: { storage: `${tpl.size}Gi` } } } });
    }
    // Made now so it starts while the checks below look at the PV; the scheduler waits for the claim.
    await s.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'writer' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: s.images.busybox, command: ['sleep', '3600'], volumeMounts: [{ name: 'd', mountPath: '/data' }] }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'dyn' } }] },
    });

    let pvName = '';
    await s.check('the claim binds to a provisioned datera/iscsi PV', async (t) => {
      const c = await s.kube.waitBound(s.ns, 'dyn');
      pvName = c.spec!.volumeName!;
      const pv = (await s.kube.pv(pvName))!;
      t.equal(pv.spec?.flexVolume?.driver, s.ctx.driver, 'flexVolume driver');
      t.equal(pv.spec?.flexVolume?.fsType, 'ext4', 'fsType from the class');
      t.equal(pv.spec?.capacity?.storage, '2Gi', 'capacity as requested');
      t.equal(pv.spec?.persistentVolumeReclaimPolicy, 'Delete', 'reclaim policy from the class');
      t.equal(pv.spec?.storageClassName, sc, 'class recorded');
    });

    await s.check("the PV's flexVolume options carry the class's replica and the claim's size, and credentials by secretRef", async (t) => {
      const pv = (await s.kube.pv(pvName))!;
      const flex = pv.spec?.flexVolume;
      const opts = flex?.options ?? {};
      s.evidence(`PV ${pvName} options ${JSON.stringify(Object.keys(opts))}: replica=${opts.replica} size=${opts.size} volumeID=${opts.volumeID}; secretRef ${JSON.stringify(flex?.secretRef)}`);
      t.equal(opts.replica, '2', 'replica option as the class asked');
      t.equal(opts.size, '2', 'size option in GiB as the claim asked');
      t.ok(opts.volumeID, 'a volumeID naming the backend volume');
      if (s.ctx.secret) t.same({ name: flex?.secretRef?.name, namespace: flex?.secretRef?.namespace }, s.ctx.secret, "secretRef to the class's secret (name and namespace)");
      else t.ok(flex?.secretRef?.name, 'a secretRef');
      t.same(CREDENTIAL_OPTIONS.filter((k) => k in opts), [], 'no credentials or server inline in the options');
    });

    await s.check('the backend volume has the requested size and replica count', async (t) => {
      const pv = (await s.kube.pv(pvName))!;
      const vid = String(pv.spec?.flexVolume?.options?.volumeID ?? '');
      t.ok(vid, 'the PV names its backend volume');
      const v = await s.backend!.volume(vid);
      s.evidence(`backend volume ${vid}: ${JSON.stringify(v)}`);
      t.ok(v, `backend volume ${vid} exists`);
      t.equal(v?.size, 2, 'size in GiB');
      t.equal(v?.replica, 2, 'replica count');
      t.equal(v?.template, '', 'no template (the class named none)');
    });

    await s.check(
      'a class with a template makes the backend volume from that template',
      async (t) => {
        const c = await s.kube.waitBound(s.ns, 'tpl');
        const pv = (await s.kube.pv(c.spec!.volumeName!))!;
        const opts = pv.spec?.flexVolume?.options ?? {};
        const v = await s.backend!.volume(String(opts.volumeID ?? ''));
        s.evidence(`template ${JSON.stringify(tpl)}; PV ${pv.metadata?.name} capacity ${pv.spec?.capacity?.storage} options template=${opts.template} volumeID=${opts.volumeID}; backend volume ${JSON.stringify(v)}`);
        t.equal(opts.template, tpl!.name, 'the PV records the template');
        t.equal(pv.spec?.capacity?.storage, `${tpl!.size}Gi`, "the PV's capacity is the template's size");
        t.ok(v, `backend volume ${opts.volumeID} exists`);
        t.equal(v?.template, tpl!.name, 'the backend volume was made from the template');
        t.equal(v?.size, tpl!.size, "its size is the template's");
        t.equal(v?.replica, tpl!.replica, "its replica count is the template's, not the class's replica parameter");
      },
      { skip: tpl ? false : 'the backend has no single-volume app_template to name; making one is the storage administrator\'s decision, not the harness\'s' },
    );

    let pod: k8s.V1Pod | undefined;
    await s.check('a pod mounts the volume and writes to it', async (t) => {
      pod = await s.kube.waitPodReady(s.ns, 'writer');
      t.ok(podReady(pod), 'Ready');
      // Written through exec rather than by the container's command, so a read-only mount fails here, saying so.
      t.equal((await s.kube.sh(s.ns, 'writer', 'c', 'echo hello > /data/f && sync && cat /data/f')).trim(), 'hello', 'a file written to the volume reads back');
      // And /data is the 2 GiB volume, not whatever a driver that never attached left there (the node's own disk).
      const kb = Number((await s.kube.sh(s.ns, 'writer', 'c', "df -k /data | tail -1 | awk '{print $2}'")).trim());
      s.evidence(`df -k /data: ${kb} KiB`);
      t.ok(kb > 1.5 * 1024 * 1024 && kb <= 2 * 1024 * 1024, `/data is a filesystem of the claim's 2 GiB (found ${(kb / 1024 / 1024).toFixed(2)} GiB)`);
    });

    await s.check("the mounted volume carries the class's fsType (ext4)", async (t) => {
      if (!pod) {
        t.fail('the writer pod never became Ready (see the check before), so its filesystem cannot be looked at');
        return;
      }
      s.evidence(`pod: ${podSummary(pod)}`);
      // busybox's stat calls every ext2/3/4 filesystem ext2/ext3; xfs would say xfs.
      t.equal((await s.kube.sh(s.ns, 'writer', 'c', 'stat -f -c %T /data')).trim(), 'ext2/ext3', 'the pod sees an ext filesystem');
      if (!s.nodes.available) {
        t.comment('no node access in this context: the node mount table is not checked');
        return;
      }
      const node = pod.spec!.nodeName!;
      const mounts = (await s.nodes.dateraMounts(node)).filter((m) => m.target.includes(pvName));
      s.evidence(`node ${node} mounts of ${pvName}: ${JSON.stringify(mounts)}`);
      t.ok(mounts.length > 0, `node ${node} has ${pvName} mounted`);
      t.same([...new Set(mounts.map((m) => m.fstype))], ['ext4'], `node ${node} mounts it as ext4`);
    });
  },
  { needs: ['backend', 'provisioner', 'writable'] },
);

/**
 * A template the check can tell from the class's parameters: one volume, the smallest, preferring a replica count
 * other than the class's 3 so that a template that was ignored shows.
 */
function pickTemplate(all: BackendTemplate[]): BackendTemplate | undefined {
  return all
    .filter((x) => x.volumes === 1 && x.size > 0 && x.replica > 0)
    .sort((a, b) => Number(a.replica === 3) - Number(b.replica === 3) || a.size - b.size || a.name.localeCompare(b.name))[0];
}
