import t from 'tap';
import { DEFAULT_PATH, imageId, ImagePullError, mergeEnv, parseImageRef, resolveCommand, resolveImage } from './catalog.js';

t.test('matches by repository name with any registry, tag or digest', async (t) => {
  for (const ref of ['mariadb', 'mariadb:10.11', 'docker.io/library/mariadb:11', 'library/mariadb@sha256:abc']) t.equal(resolveImage(ref).name, 'mariadb', ref);
  for (const ref of ['mysql:5.7', 'mysql:8', 'docker.io/mysql']) t.equal(resolveImage(ref).name, 'mysql', ref);
  for (const ref of ['busybox', 'busybox:1.36', 'docker.io/library/busybox:1.36.1@sha256:0123', 'localhost:5000/busybox', 'registry.k8s.io/e2e-test-images/busybox:1.29-4']) {
    t.equal(resolveImage(ref).name, 'busybox', ref);
  }
  for (const ref of ['registry.k8s.io/debian-base:v2.0.0', 'registry.k8s.io/build-image/debian-base:bookworm-v1.0.2']) {
    t.equal(resolveImage(ref).name, 'debian-base', `${ref}: the recycler image`);
    t.same(resolveImage(ref).prepare({ busyboxBin: '/x/bb' }), [{ kind: 'bind', hostPath: '/x/bb', containerPath: '/usr/local/bin', readOnly: true }], 'served by the busybox applets');
  }
  t.same(parseImageRef('localhost:5000/x/busybox:1.2@sha256:ff'), { repository: 'localhost:5000/x/busybox', name: 'busybox', tag: '1.2', digest: 'sha256:ff' });
  t.same(parseImageRef('localhost:5000/busybox'), { repository: 'localhost:5000/busybox', name: 'busybox', tag: undefined, digest: undefined });
});

t.test('unknown images fail like ErrImagePull', async (t) => {
  for (const ref of ['nginx:1.25', 'docker.io/library/postgres', '', 'bad ref']) {
    const err = t.throws(() => resolveImage(ref)) as ImagePullError;
    t.ok(err instanceof ImagePullError, ref);
    t.equal(err.reason, 'ErrImagePull');
    t.equal(err.message, `failed to pull image "${ref}": image not in the embedded catalog (known: mariadb, mysql, busybox, debian-base)`);
  }
});

t.test('command and args follow the Kubernetes rules', async (t) => {
  const img = { entrypoint: ['ep'], cmd: ['c1', 'c2'] };
  t.same(resolveCommand(img), ['ep', 'c1', 'c2']);
  t.same(resolveCommand(img, ['x']), ['x'], 'command drops the image CMD');
  t.same(resolveCommand(img, undefined, ['a']), ['ep', 'a'], 'args replace CMD');
  t.same(resolveCommand(img, ['x'], ['a']), ['x', 'a']);
  t.same(resolveCommand(img, [], []), ['ep', 'c1', 'c2'], 'empty lists count as unset');
  t.same(resolveCommand({ entrypoint: [], cmd: ['sh'] }), ['sh']);
  t.throws(() => resolveCommand({ entrypoint: [], cmd: [] }), /no command/);
});

t.test('entries carry the image metadata', async (t) => {
  const bb = resolveImage('busybox');
  t.same(bb.cmd, ['sh']);
  t.same(bb.prepare({ busyboxBin: '/x/bb' }), [{ kind: 'bind', hostPath: '/x/bb', containerPath: '/usr/local/bin', readOnly: true }]);
  const m = resolveImage('mariadb');
  t.same(m.entrypoint, ['docker-entrypoint.sh']);
  t.ok(m.prepare({ busyboxBin: '' }).some((op) => op.kind === 'dir' && op.containerPath === '/run/mysqld' && op.owner === 'mysql:mysql'));
  t.same(resolveImage('mysql').cmd, ['mysqld']);
  t.same(mergeEnv(bb, { PATH: '/p', A: '1' }), { PATH: '/p', A: '1' });
  t.equal(mergeEnv(bb, {}).PATH, DEFAULT_PATH);
});

t.test('imageID hashes the host binary version', async (t) => {
  const id = await imageId({ ...resolveImage('busybox'), name: 'fake', versionArgv: ['echo', 'v1.2.3'] });
  // sha256("v1.2.3")
  t.equal(id, 'dkc-catalog://fake@sha256:' + (await import('node:crypto')).createHash('sha256').update('v1.2.3').digest('hex'));
  t.equal(await imageId({ ...resolveImage('busybox'), name: 'fake', versionArgv: ['false'] }), id, 'cached per entry');
});
