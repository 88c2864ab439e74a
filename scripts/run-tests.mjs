#!/usr/bin/env node
// Runs tap, streams its output, checks that the run left nothing behind, and ends with the plain line CI reads:
// "tests: N passed, N failed, N skipped". tap's exit code stays part of the verdict (a coverage shortfall fails
// the run even when every test passed), and so does the leak check.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** What the harness's own processes, containers and temp dirs look like; anything matching after the run leaked. */
function leaks() {
  const found = [];
  const ps = spawnSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' }).stdout ?? '';
  for (const line of ps.split('\n')) {
    const [, pid, stat, args] = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line) ?? [];
    if (!pid || stat.startsWith('Z')) continue;
    if (/^tgtd -f -C \d+ --iscsi portal=127\./.test(args) || /qemu-storage-daemon .*dkc/.test(args)) found.push(`process ${pid}: ${args}`);
    // Embedded clusters: the provisioner, and container processes (mariadbd, busybox) rooted in a dkc- work dir.
    else if (/drivers\/provisioner\/main\.js/.test(args) || /\/dkc-[^/\s]+\//.test(args)) found.push(`process ${pid}: ${args}`);
  }
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of (netns.stdout ?? '').split('\n')) if (/^dkc-/.test(line)) found.push(`network namespace ${line.split(' ')[0]}`);
  const mounts = spawnSync('cat', ['/proc/self/mounts'], { encoding: 'utf8' });
  for (const line of (mounts.stdout ?? '').split('\n')) if (/ \S*\/dkc-\S* /.test(line)) found.push(`mount ${line.split(' ')[1]}`);
  const loops = spawnSync('losetup', ['-l', '-n', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' });
  for (const line of (loops.stdout ?? '').split('\n')) {
    if (/\/dkc-/.test(line)) found.push(`loop device ${line.trim()}`);
    // Backing file '/': the file it was bound to sat on a mount (a FUSE LUN export) that was unmounted under it.
    else if (/^\/dev\/loop\d+\s+\/$/.test(line.trim())) found.push(`loop device ${line.trim().split(/\s+/)[0]} over an unmounted file (backing file shown as /)`);
  }
  const docker = spawnSync('docker', ['ps', '-a', '--format', '{{.Names}}', '--filter', 'label=dkc.owner=datera-k8s-conformance'], { encoding: 'utf8' });
  if (docker.status === 0) for (const n of docker.stdout.split('\n').filter(Boolean)) found.push(`container ${n}`);
  const nets = spawnSync('docker', ['network', 'ls', '--format', '{{.Name}}', '--filter', 'label=dkc.owner=datera-k8s-conformance'], { encoding: 'utf8' });
  if (nets.status === 0) for (const n of nets.stdout.split('\n').filter(Boolean)) found.push(`docker network ${n}`);
  for (const d of readdirSync(tmpdir())) if (/^dkc-/.test(d)) found.push(`temp dir ${tmpdir()}/${d}`);
  return found;
}

const before = new Set(leaks());
const child = spawn('npx', ['--no-install', 'tap', '-R', 'tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-20000);
});
child.on('close', (code, signal) => {
  // The last top-level summary comment: "# { total: 12, pass: 10, fail: 1, skip: 1 }"
  const last = [...tail.matchAll(/^# \{ (total: \d+[^}]*)\}$/gm)].at(-1);
  const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
  if (last) for (const [, k, v] of last[1].matchAll(/(\w+): (\d+)/g)) counts[k] = Number(v);
  let failed = counts.fail;
  if (!last) {
    console.log('# no tap summary found: counting the run as one failure');
    failed++;
  } else if (code !== 0 && counts.fail === 0) {
    console.log(`# tap exited ${signal ?? code} with no failed test (coverage below the thresholds, or a file crashed): counted as one failure`);
    failed++;
  }
  const leaked = leaks().filter((l) => !before.has(l));
  if (leaked.length) {
    console.log(`not ok - leak check: the test run left ${leaked.length} thing(s) behind`);
    for (const l of leaked) console.log(`#   ${l}`);
    failed++;
  } else {
    console.log('ok - leak check: no processes, containers, networks, namespaces, mounts, loop devices or temp dirs left behind');
    counts.pass++;
  }
  console.log(`tests: ${counts.pass} passed, ${failed} failed, ${counts.skip + counts.todo} skipped`);
  process.exit(failed > 0 ? 1 : 0);
});
