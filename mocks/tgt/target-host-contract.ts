/**
 * The behaviour every TargetHost must show, as one tap test body run against each implementation
 * (process-target-host.root.test.ts, container-target-host.docker.test.ts). It talks real iSCSI from this machine:
 * qemu-io (libiscsi, through qemu-block-extra) for I/O and logins, iscsi-inq and iscsi-ls for INQUIRY and discovery.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { run, which, type RunResult } from '../../lib/exec.js';
import { waitFor } from '../../lib/wait.js';
import type { StartedTargetHost, TargetHost, TargetHostOptions, TargetSpec } from './target-host.js';

export interface ContractSubject {
  name: string;
  /** Why this implementation cannot run here; the test is skipped with this reason. */
  skip?: string;
  create(opts: TargetHostOptions): TargetHost;
  /** What a stopped host left behind (processes, containers, networks, sockets, listening portals); empty when clean. */
  leftovers(host: StartedTargetHost): Promise<string[]>;
}

/** The initiator tools this test drives; a reason to skip when one is missing. */
export async function missingInitiatorTools(): Promise<string | undefined> {
  for (const tool of ['qemu-io', 'iscsi-inq', 'iscsi-ls']) {
    if (!(await which(tool))) return `${tool} is not installed (apt-get install qemu-utils qemu-block-extra libiscsi-bin)`;
  }
  return undefined;
}

const MiB = 1024 * 1024;
const INIT_A = 'iqn.1993-08.org.debian:01:dkc-contract-a';
const INIT_B = 'iqn.1993-08.org.debian:01:dkc-contract-b';
const REFUSED = /Authentication failure|Failed to log in|Target not found|Failed to connect|Connection refused|failed to connect/i;

interface Login {
  initiator: string;
  user?: string;
  password?: string;
}

function qemuIo(portal: string, iqn: string, login: Login, command: string): Promise<RunResult> {
  const opts = [`driver=iscsi`, `transport=tcp`, `portal=${portal}`, `target=${iqn}`, `lun=1`, `initiator-name=${login.initiator}`];
  if (login.user) opts.push(`user=${login.user}`, `password=${login.password ?? ''}`);
  return run(['qemu-io', '--image-opts', '-c', command, opts.join(',')], { nothrow: true, timeoutMs: 60_000, secrets: login.password ? [login.password] : [] });
}

const output = (r: RunResult) => `${r.stdout}${r.stderr}`.trim();
/** qemu-io exits 0 on some failed commands, so success is also judged by what it printed. */
const succeeded = (r: RunResult) => r.exitCode === 0 && /(read|wrote) \d+\/\d+ bytes/.test(r.stdout) && !/verification failed|can't open/i.test(output(r));

/** True when nothing accepts a TCP connection on `portal` (only for addresses the host still owns). */
export function portalRefuses(portal: string): Promise<boolean> {
  const i = portal.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect({ host: portal.slice(0, i), port: Number(portal.slice(i + 1)), timeout: 3_000 });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('timeout', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(true));
  });
}

export function targetHostContract(t: Test, subject: ContractSubject): void {
  t.test(subject.name, { skip: subject.skip ?? false }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'dkc-tgt-contract-'));
    let started: StartedTargetHost | undefined;
    t.teardown(async () => {
      await started?.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const host = (started = await subject.create({ runDir: join(dir, 'run'), dataDirs: [dataDir] }).start());
    const [p1, p2] = host.portals;
    t.equal(host.portals.length, 2, 'two portals');
    t.not(p1, p2, 'distinct portals');
    if (!p1 || !p2) return;

    const file = join(dataDir, 'vol-1.img');
    await writeFile(file, '');
    await truncate(file, 64 * MiB);
    const serial = randomUUID();
    const iqn = `iqn.2013-05.com.daterainc:tc:01:sn:${randomBytes(8).toString('hex')}`;
    const spec: TargetSpec = { iqn, luns: [{ lun: 1, backingFile: file, serial }], initiators: [INIT_A] };
    const A = { initiator: INIT_A };
    const B = { initiator: INIT_B };
    const ours = async () => (await host.listTargets()).filter((x) => x.iqn === iqn);

    await t.test('createTarget makes one target, and again changes nothing', async (t) => {
      await host.createTarget(spec);
      const [first] = await ours();
      await host.createTarget(structuredClone(spec));
      const now = await ours();
      t.equal(now.length, 1);
      t.equal(now[0]?.tid, first?.tid, 'same tid');
      t.same(now[0]?.luns, [{ lun: 1, backingFile: file, serial, sizeBytes: 67_000_000 }], 'LUN 1, its file, serial and size (tgt rounds to decimal MB)');
      t.same(now[0]?.acl, [INIT_A]);
    });

    await t.test('data written on portal 1 reads back on portal 2', async (t) => {
      const w = await qemuIo(p1, iqn, A, 'write -P 0xab 0 1M');
      t.ok(succeeded(w), `write on ${p1}: ${output(w)}`);
      const r = await qemuIo(p2, iqn, A, 'read -P 0xab 0 1M');
      t.ok(succeeded(r), `read on ${p2}: ${output(r)}`);
      const wrong = await qemuIo(p2, iqn, A, 'read -P 0xcd 0 1M');
      t.notOk(succeeded(wrong), 'a different pattern does not verify (the check can fail)');
    });

    await t.test('INQUIRY shows vendor, product and the serial', async (t) => {
      const url = `iscsi://${p1}/${iqn}/1`;
      const std = await run(['iscsi-inq', '-i', INIT_A, url], { nothrow: true });
      t.match(std.stdout, /^Vendor:DATERA\s*$/m, 'vendor');
      t.match(std.stdout, /^Product:IBLOCK\s*$/m, 'product');
      const vpd = await run(['iscsi-inq', '-i', INIT_A, '-e', '1', '-c', '128', url], { nothrow: true });
      t.match(vpd.stdout, `Unit Serial Number:[${serial}]`, 'VPD 0x80 unit serial');
    });

    await t.test('an initiator outside the ACL is refused and discovers nothing', async (t) => {
      const r = await qemuIo(p1, iqn, B, 'read 0 4k');
      t.notOk(succeeded(r));
      t.match(output(r), REFUSED);
      const seenByB = await run(['iscsi-ls', '-i', INIT_B, `iscsi://${p1}`], { nothrow: true });
      t.notMatch(seenByB.stdout, iqn, 'iscsi-ls as B');
      const seenByA = await run(['iscsi-ls', '-i', INIT_A, `iscsi://${p1}`], { nothrow: true });
      t.match(seenByA.stdout, iqn, 'iscsi-ls as A');
    });

    await t.test('setAcl changes who may log in', async (t) => {
      await host.setAcl(iqn, [INIT_B]);
      t.same((await ours())[0]?.acl, [INIT_B]);
      t.ok(succeeded(await qemuIo(p1, iqn, B, 'read -P 0xab 0 4k')), 'B gets in');
      t.notOk(succeeded(await qemuIo(p1, iqn, A, 'read 0 4k')), 'A is refused');
      await host.setAcl(iqn, [INIT_A]);
      t.ok(succeeded(await qemuIo(p1, iqn, A, 'read -P 0xab 0 4k')), 'A gets in again');
    });

    await t.test('createTarget again after the backing file grew shows the new size', async (t) => {
      await truncate(file, 128 * MiB);
      await host.createTarget(spec);
      t.equal((await ours())[0]?.luns[0]?.sizeBytes, 134_000_000);
      t.ok(succeeded(await qemuIo(p1, iqn, A, 'read -P 0xab 0 1M')), 'data kept');
      t.ok(succeeded(await qemuIo(p1, iqn, A, 'read -P 0 100M 1M')), 'the new space reads as zeros');
    });

    await t.test('listTargets shows a session while it is open, and not after', async (t) => {
      const open = qemuIo(p1, iqn, A, 'sleep 1500');
      const session = await waitFor('a session from initiator A', async (saw) => {
        const s = (await ours())[0]?.sessions ?? [];
        saw(JSON.stringify(s));
        return s.find((x) => x.initiator === INIT_A);
      }, { timeoutMs: 10_000 });
      t.ok(session.addresses.length > 0, `connection address ${session.addresses.join(', ')}`);
      const r = await open;
      t.equal(r.exitCode, 0, output(r));
      await waitFor('the session to end', async () => ((await ours())[0]?.sessions.length === 0 ? true : undefined), { timeoutMs: 10_000 });
    });

    await t.test('portalDown refuses on that portal while the other serves', async (t) => {
      await host.portalDown(p1);
      await host.portalDown(p1);
      t.ok(await portalRefuses(p1), `${p1} refuses connections`);
      t.notOk(succeeded(await qemuIo(p1, iqn, A, 'read 0 4k')), `no login on ${p1}`);
      t.ok(succeeded(await qemuIo(p2, iqn, A, 'read -P 0xab 0 4k')), `${p2} serves`);
      await host.portalUp(p1);
      t.ok(succeeded(await qemuIo(p1, iqn, A, 'read -P 0xab 0 4k')), `${p1} serves again`);
    });

    await t.test('hostDown takes every portal away; hostUp brings the same target and data back', async (t) => {
      const before = (await ours())[0];
      await host.hostDown();
      t.same(await host.listTargets(), [], 'nothing listed while down');
      t.ok(await portalRefuses(p1), `${p1} refuses`);
      t.ok(await portalRefuses(p2), `${p2} refuses`);
      await host.hostUp();
      const after = (await ours())[0];
      t.same({ ...after, sessions: [] }, { ...before, sessions: [] }, 'same tid, LUN, serial and ACL');
      t.ok(succeeded(await qemuIo(p1, iqn, A, 'read -P 0xab 0 1M')), 'data kept');
      t.notOk(succeeded(await qemuIo(p1, iqn, B, 'read 0 4k')), 'ACL kept');
    });

    await t.test('CHAP: no login without the right credentials', async (t) => {
      const file2 = join(dataDir, 'vol-2.img');
      await writeFile(file2, '');
      await truncate(file2, 16 * MiB);
      const iqn2 = `${iqn}-chap`;
      const chap = { targetUser: 'dkc-chap-user', targetPassword: 'dkc-chap-secret-1', initiatorUser: 'dkc-mutual-user', initiatorPassword: 'dkc-mutual-secret-2' };
      await host.createTarget({ iqn: iqn2, luns: [{ lun: 1, backingFile: file2, serial: randomUUID() }], initiators: [INIT_A], chap });
      const read = (login: Login) => qemuIo(p2, iqn2, login, 'read 0 4k');
      t.match(output(await read(A)), REFUSED, 'no credentials');
      t.notOk(succeeded(await read({ ...A, user: chap.targetUser, password: 'wrong-password-1' })), 'wrong password');
      const ok = await read({ ...A, user: chap.targetUser, password: chap.targetPassword });
      t.ok(succeeded(ok), `right credentials: ${output(ok)}`);
      await host.deleteTarget(iqn2);
      t.same((await host.listTargets()).map((x) => x.iqn), [iqn], 'only the first target is left');
    });

    await t.test('deleteTarget removes the target, and again is no error', async (t) => {
      await host.deleteTarget(iqn);
      t.same(await ours(), []);
      t.match(output(await qemuIo(p1, iqn, A, 'read 0 4k')), REFUSED);
      await host.deleteTarget(iqn);
    });

    await t.test('stop leaves nothing behind', async (t) => {
      await host.stop();
      t.same(await subject.leftovers(host), []);
      await host.stop();
    });
  });
}
