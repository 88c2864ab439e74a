import t from 'tap';
import { detachLoopsUnder, loopsOver, loopsUnder, mkfsArgv, mountAt, readMounts, under } from './mounts.js';

const losetup = (devs: [string, string | null, string][]) => JSON.stringify({ loopdevices: devs.map(([name, back, mm]) => ({ name, 'back-file': back, 'back-maj:min': `       ${mm} ` })) });
// Two FUSE exports under the node root, one elsewhere, and the root fs mounted again under the node root (a bind
// mount: same maj:min as every file on that disk, which must not pull in unrelated loops).
const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '90 22 0:41 / /tmp/dkc-embedded-x/nodes/w1/iscsi/run/session-1/lun-1 rw,nosuid shared:50 - fuse /dev/fuse rw,user_id=0',
  '91 22 0:42 / /tmp/dkc-embedded-x/nodes/w2/iscsi/run/session\\0401/lun-1 rw,nosuid shared:51 - fuse.qsd /dev/fuse rw,user_id=0',
  '92 22 0:43 / /tmp/elsewhere/lun-1 rw,nosuid shared:52 - fuse /dev/fuse rw',
  '93 22 254:0 /srv /tmp/dkc-embedded-x/nodes/w1/bind rw - ext4 /dev/vda rw',
].join('\n');

t.test('loopsOver: by backing path under the root, or by the maj:min of a FUSE mount under it', async (t) => {
  const json = losetup([
    ['/dev/loop0', '/tmp/dkc-embedded-x/nodes/w1/iscsi/run/session-1/lun-1', '0:41'],
    ['/dev/loop1', '/', '0:42'], // its FUSE mount was lazily detached: the path is gone, the device number is not
    ['/dev/loop2', '/tmp/elsewhere/lun-1', '0:43'],
    ['/dev/loop3', '/var/lib/images/disk.img', '254:0'], // same disk as the bind mount under the root: not ours
    ['/dev/loop4', '/tmp/dkc-embedded-x/volumes/v1.img (deleted)', '254:0'],
    ['/dev/loop5', null, ''],
  ]);
  t.same(loopsOver(json, MOUNTINFO, '/tmp/dkc-embedded-x'), ['/dev/loop0', '/dev/loop1', '/dev/loop4']);
  t.same(loopsOver(json, MOUNTINFO, '/tmp/dkc-embedded-x/nodes/w2'), ['/dev/loop1'], 'an escaped space in a mount point');
  t.same(loopsOver(json, MOUNTINFO, '/tmp/elsewhere'), ['/dev/loop2']);
  t.same(loopsOver(json, MOUNTINFO, '/tmp/dkc-embedded-xy'), [], 'a sibling dir with the same prefix is not under the root');
  t.same(loopsOver('', MOUNTINFO, '/tmp/dkc-embedded-x'), [], 'no loop devices');
  t.same(loopsOver('not json', MOUNTINFO, '/tmp/dkc-embedded-x'), [], 'unreadable output');
  t.same(loopsOver(losetup([['/dev/loop1', '/', '0:42']]), '', '/tmp/dkc-embedded-x'), [], 'without the mount, a "/" backing file is not attributed');
});

t.test('the host: mounts, the mount at /, and no loop devices under a dir that does not exist', async (t) => {
  const mounts = await readMounts();
  t.ok(mounts.some((m) => m.target === '/'), 'the root is mounted');
  t.equal((await mountAt('/'))?.target, '/');
  t.equal(await mountAt('/dkc-no-such-dir'), undefined);
  t.same(await loopsUnder('/dkc-no-such-dir'), []);
  t.same(await detachLoopsUnder('/dkc-no-such-dir'), []);
  t.ok(under('/a/b', '/a/') && under('/a', '/a') && !under('/ab', '/a'));
});

t.test("mkfsArgv: kubelet's mkfs per filesystem, ext4 when none is given", async (t) => {
  t.same(mkfsArgv('', '/dev/loop0'), ['mkfs.ext4', '-F', '-q', '/dev/loop0']);
  t.same(mkfsArgv('ext3', '/dev/loop0'), ['mkfs.ext3', '-F', '-q', '/dev/loop0']);
  t.same(mkfsArgv('xfs', '/dev/loop0'), ['mkfs.xfs', '-q', '/dev/loop0']);
  t.same(mkfsArgv('btrfs', '/dev/loop0'), ['mkfs.btrfs', '/dev/loop0']);
});
