import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerRuntime, type ContainerSpec, type RunningContainer } from './containers.js';
import { ClusterNetwork } from './network.js';
import { tcpProbe } from './probes.js';
import { leftovers, missingFacility } from './root-test-env.js';

const why = await missingFacility(['mariadbd', 'mariadb-install-db', 'mariadb']);
if (why) {
  t.comment(`skipping mariadb root tests: ${why}`);
  t.skip(`mariadb.root: ${why}`, () => undefined);
} else {
  const marker = `dkcmt${process.pid}`;
  const tmp = await mkdtemp(join(tmpdir(), 'dkc-mariadb-'));
  const net = await ClusterNetwork.create(marker, ['node1']);
  const runtime = new ContainerRuntime({ nodeName: 'node1', rootDir: join(tmp, 'root'), logDir: join(tmp, 'logs') });
  const running: RunningContainer[] = [];
  t.teardown(async () => {
    for (const c of running) await c.stop(0).catch(() => undefined);
    await net.destroy();
    await rm(tmp, { recursive: true, force: true });
  });
  const p = await net.addPod('node1', `uid-${marker}`);
  const podDir = join(tmp, 'pod');
  await mkdir(podDir);
  await writeFile(join(podDir, 'hosts'), `127.0.0.1\tlocalhost\n${p.ip}\tmysql-0\n`);
  await writeFile(join(podDir, 'hostname'), 'mysql-0\n');
  await writeFile(join(podDir, 'resolv.conf'), 'nameserver 10.96.0.10\n');
  // A fresh filesystem root: it has lost+found, which the entrypoint must cope with.
  const datadir = join(tmp, 'pv data');
  await mkdir(join(datadir, 'lost+found'), { recursive: true });

  const spec = (env: Record<string, string>, image = 'mariadb:10.11'): ContainerSpec => ({
    podUid: `uid-${marker}`,
    podName: 'mysql-0',
    namespace: 'default',
    containerName: 'mariadb',
    image,
    env: { DKC_TEST: marker, ...env },
    netns: p.netns,
    hostname: 'mysql-0',
    hostsFile: join(podDir, 'hosts'),
    hostnameFile: join(podDir, 'hostname'),
    resolvFile: join(podDir, 'resolv.conf'),
    mounts: [{ hostPath: datadir, containerPath: '/var/lib/mysql' }],
  });

  async function startDb(env: Record<string, string>, image?: string): Promise<{ c: RunningContainer; readyMs: number }> {
    const t0 = performance.now();
    const c = await runtime.start(spec(env, image));
    running.push(c);
    const end = Date.now() + 60_000;
    for (;;) {
      if (!c.running) throw new Error(`mariadb exited: ${await c.logs()}`);
      // Over TCP: the entrypoint's temporary server listens on the socket only (skip-networking), so a socket
      // connection can succeed in the middle of the initialisation; only the final server takes TCP.
      const r = await c.execCapture(['mariadb', '-uroot', '-psecret pw', '--protocol=tcp', '-h', '127.0.0.1', '-e', 'select 1'], 5000);
      if (r.exitCode === 0) break;
      if (Date.now() > end) throw new Error(`mariadb not ready: ${r.stderr}\n${await c.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { c, readyMs: performance.now() - t0 };
  }

  t.test('refuses to initialise without a password option', async (t) => {
    const c = await runtime.start(spec({ MYSQL_DATABASE: 'app' }));
    running.push(c);
    const st = await c.wait();
    t.equal(st.exitCode, 1);
    t.match(await c.logs(), /\[ERROR\] \[Entrypoint\]: Database is uninitialized and password option is not specified\n\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD/);
    t.notOk(existsSync(join(datadir, 'mysql')), 'datadir not initialised');
  });

  t.test('initialises on a volume with lost+found, keeps data across restarts', async (t) => {
    const first = await startDb({ MYSQL_ROOT_PASSWORD: 'secret pw', MYSQL_DATABASE: 'app', MYSQL_USER: 'u1', MYSQL_PASSWORD: "it's" }, 'docker.io/library/mysql:8');
    t.comment(`mariadb first init until connectable: ${Math.round(first.readyMs)} ms`);
    const logs = await first.c.logs();
    t.match(logs, /Initializing database files/);
    t.match(logs, /MariaDB init process done/);
    t.ok(existsSync(join(datadir, 'lost+found')), 'lost+found left alone');
    const own = await stat(join(datadir, 'mysql'));
    t.not(own.uid, 0, 'datadir owned by mysql');
    const sql = (q: string, user = ['-uroot', '-psecret pw']) => first.c.execCapture(['mariadb', ...user, '-N', '-e', q], 10_000);
    t.match(await sql('create table app.t (v varchar(20)); insert into app.t values ("kept"); select v from app.t'), { exitCode: 0, stdout: 'kept\n' });
    t.match(await sql("select count(*) from mysql.user where user='root' and host='%'"), { stdout: '1\n' }, "root@'%' exists as in the image");
    t.match(await sql('select current_user()', ['-uu1', "-pit's", '-h', p.ip, 'app']), { exitCode: 0, stdout: "u1@%\n" }, 'MYSQL_USER over TCP on the pod IP');
    t.match(await sql('select 1', ['-uroot', '-pwrong']), { exitCode: 1 }, 'wrong password refused');
    t.match(await tcpProbe(p.netns, p.ip, 3306, 2), { success: true }, 'TCP probe to 3306 in the pod netns');
    t.match(await tcpProbe(net.node('node1').netns, p.ip, 3306, 2), { success: true }, 'and from the node');
    const t1 = performance.now();
    const st = await first.c.stop(30);
    t.comment(`mariadb graceful stop: ${Math.round(performance.now() - t1)} ms`);
    t.equal(st.exitCode, 0, 'mariadbd shut down cleanly on SIGTERM');

    const second = await startDb({ MYSQL_ROOT_PASSWORD: 'ignored on restart' });
    t.comment(`mariadb restart until connectable: ${Math.round(second.readyMs)} ms`);
    t.notMatch(await second.c.logs(), /Initializing database files/, 'no re-initialisation');
    t.match(await second.c.execCapture(['mariadb', '-uroot', '-psecret pw', '-N', '-e', 'select v from app.t'], 10_000), { exitCode: 0, stdout: 'kept\n' });
    t.match(await second.c.execCapture(['mysql', '-uroot', '-psecret pw', '-N', '-e', 'select @@datadir'], 10_000), { stdout: '/var/lib/mysql/\n' }, 'mysql client alias');
    t.equal((await second.c.stop(30)).exitCode, 0);
    t.ok((await readdir(datadir)).includes('ibdata1'));
  });

  t.test('nothing left behind', async (t) => {
    for (const c of running) t.notOk(c.running);
    t.same((await leftovers(marker)).filter((l) => !l.includes('/run/netns/') && !l.startsWith('netns')), []);
    await net.destroy();
    t.same(await leftovers(marker), []);
  });
}
