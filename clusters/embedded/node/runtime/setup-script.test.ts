import t from 'tap';
import { execFileSync } from 'node:child_process';
import { buildSetupScript, type SetupSpec } from './setup-script.js';

const base: SetupSpec = {
  rootfs: "/var/lib/dkc/c 1/it's rootfs",
  scratch: '/var/lib/dkc/c 1/scratch',
  hostname: 'web-0',
  hostsFile: '/p/hosts',
  hostnameFile: '/p/hostname',
  resolvFile: '/p/resolv.conf',
  systemDirs: [{ name: 'usr' }, { name: 'bin', symlinkTo: 'usr/bin' }],
  imageOps: [
    { kind: 'bind', hostPath: '/img/etc mysql', containerPath: '/etc/mysql', readOnly: true },
    { kind: 'dir', containerPath: '/run/mysqld', owner: 'mysql:mysql', mode: '1777' },
    { kind: 'dir', containerPath: '/plain' },
  ],
  mounts: [
    { source: '/vol/a "b"', containerPath: '/data/x y', readOnly: false, isFile: false },
    { source: '/vol/f', containerPath: '/etc/app/conf $HOME.ini', readOnly: true, isFile: true },
  ],
  workingDir: '/work dir',
  env: { A: "it's $x", EMPTY: '' },
  argv: ['sh', '-c', 'echo "$A"; `id`'],
};

t.test('the script parses and every caller word is quoted', async (t) => {
  const s = buildSetupScript(base);
  execFileSync('bash', ['-n'], { input: s });
  t.match(s, `R='/var/lib/dkc/c 1/it'\\''s rootfs'`);
  t.match(s, `mount --bind '/vol/a "b"' "$R"'/data/x y'`);
  t.match(s, `mount -o remount,bind,ro "$R"'/etc/app/conf $HOME.ini'`);
  t.match(s, `touch "$R"'/etc/app/conf $HOME.ini'`, 'file mount points are files');
  t.match(s, `ln -s usr/bin "$R"/bin`);
  t.match(s, `mount --bind -o ro '/img/etc mysql' "$R"/etc/mysql`);
  t.match(s, 'chown mysql:mysql "$R"/run/mysqld');
  t.notMatch(s, 'chown mysql:mysql "$R"/plain');
  t.match(s, 'hostname web-0');
  t.match(s, `mount -t overlay -o 'lowerdir=/usr,upperdir=/var/lib/dkc/c 1/scratch/usr.up,workdir=/var/lib/dkc/c 1/scratch/usr.wk' dkc-usr "$R"/usr`);
  t.match(s, 'mount -o remount,bind,ro "$R"/etc\n', 'system dirs end read-only');
  t.ok(s.indexOf('remount,bind,ro "$R"/usr') > s.indexOf(`mkdir -p "$R"'/data/x y'`), 'after the mount points were made');
  t.notMatch(s, 'remount,bind,ro "$R"\'/data/x y\'', 'writable mounts stay writable');
});

t.test('the reaper command runs the argv with exactly the env given', async (t) => {
  const s = buildSetupScript(base);
  // Pull out the reaper program and run its chain with a fake env(1) that prints its argv.
  const m = /exec chroot "\$R" \/bin\/bash -c ([\s\S]*)\n$/.exec(s);
  t.ok(m, 'reaper exec line present');
  const reaper = execFileSync('bash', ['-c', `printf %s ${m![1]}`]).toString();
  t.match(reaper, 'echo "started $main" >&3');
  const chainLine = /exec (\/usr\/bin\/env .*) 2>&4 3>&- 4>&- \) &/.exec(reaper)![1]!;
  const words = execFileSync('bash', ['-c', `printf '%s\\0' ${chainLine}`]).toString().split('\0').slice(0, -1);
  t.same(words, ['/usr/bin/env', '-i', '-C', '/work dir', "A=it's $x", 'EMPTY=', 'sh', '-c', 'echo "$A"; `id`']);
});

t.test('a command containing = goes through sh; non-root users through setpriv', async (t) => {
  const s = buildSetupScript({ ...base, argv: ['A=b', 'x'], user: 'mysql' });
  t.match(s, `setpriv --reuid=mysql --regid=mysql --init-groups -- /bin/sh -c`);
  t.match(s, 'A=b x');
  t.throws(() => buildSetupScript({ ...base, rootfs: 'rel' }), /absolute/);
});
