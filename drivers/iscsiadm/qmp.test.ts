import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qmp } from './qmp.js';

/** A QMP server that greets, accepts capabilities, emits an event, then answers each command with `answer`. */
async function fakeQmp(t: Test, answer: (cmd: { execute: string; arguments?: unknown }) => object | string | undefined) {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-qmp-'));
  const path = join(dir, 'qmp.sock');
  const seen: unknown[] = [];
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.write('{"QMP": {"version": {}, "capabilities": ["oob"]}}\r\n');
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const cmd = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        seen.push(cmd);
        if (cmd.execute === 'qmp_capabilities') sock.write('{"return": {}}\n');
        else {
          sock.write('{"event": "JOB_STATUS_CHANGE", "data": {}}\n\n');
          const a = answer(cmd);
          if (a) sock.write((typeof a === 'string' ? a : JSON.stringify(a)) + '\n');
          else sock.end();
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.teardown(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  return { path, seen };
}

t.test('sends capabilities then the command, skips events, returns the answer', async (t) => {
  const q = await fakeQmp(t, () => ({ return: { ok: 1 } }));
  t.same(await qmp(q.path, 'block_resize', { 'node-name': 'lun1', size: 2 }), { ok: 1 });
  t.same(q.seen, [{ execute: 'qmp_capabilities' }, { execute: 'block_resize', arguments: { 'node-name': 'lun1', size: 2 } }]);
  t.same(await qmp(q.path, 'query-status'), { ok: 1 });
});

t.test('errors, hang-ups, garbage and silence are reported', async (t) => {
  const err = await fakeQmp(t, () => ({ error: { class: 'GenericError', desc: 'Cannot grow device' } }));
  await t.rejects(qmp(err.path, 'block_resize'), /GenericError: Cannot grow device/);
  const hangup = await fakeQmp(t, () => undefined);
  await t.rejects(qmp(hangup.path, 'x'), /connection closed/);
  const silent = await fakeQmp(t, () => ({}));
  await t.rejects(qmp(silent.path, 'x', undefined, 150), /no answer in 150 ms/);
  await t.rejects(qmp(join(silent.path, 'missing'), 'x'), /ENOENT|ENOTDIR/);
  const garbage = await fakeQmp(t, () => 'qemu says <html>');
  await t.rejects(qmp(garbage.path, 'x'), /not JSON: qemu says <html>/);
});
