// bind-dynamic: a StorageClass for datera.io/provisioner-datera provisions a PV with the right options, and the
// backend volume has the requested size, replica count and template; a pod writes to it.
import { scenario, podReady } from '../../harness/index.js';

await scenario(
  'bind-dynamic',
  async (s) => {
    const sc = await s.storageClass({ replica: '2', fsType: 'ext4' }, 'Delete');
    await s.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'dyn' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: sc, resources: { requests: { storage: '2Gi' } } } });
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
    await s.check('the backend volume has the requested size and replica count', async (t) => {
      const pv = (await s.kube.pv(pvName))!;
      const vid = String(pv.spec?.flexVolume?.options?.volumeID ?? '');
      t.ok(vid, 'the PV names its backend volume');
      const v = await s.backend!.volume(vid);
      t.ok(v, `backend volume ${vid} exists`);
      t.equal(v?.size, 2, 'size in GiB');
      t.equal(v?.replica, 2, 'replica count');
    });
    await s.check('a pod mounts the volume and writes to it', async (t) => {
      await s.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'writer' }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: s.images.busybox, command: ['sh', '-c', 'echo hello > /data/f && sleep 3600'], volumeMounts: [{ name: 'd', mountPath: '/data' }] }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'dyn' } }] } });
      const p = await s.kube.waitPodReady(s.ns, 'writer');
      t.ok(podReady(p), 'Ready');
      t.equal((await s.kube.sh(s.ns, 'writer', 'c', 'cat /data/f')).trim(), 'hello');
      t.equal((await s.kube.sh(s.ns, 'writer', 'c', 'stat -f -c %T /data')).trim(), 'ext2/ext3', 'ext4 as asked (busybox stat says ext2/ext3)');
    });
  },
  { needs: ['backend', 'provisioner', 'writable'] },
);
