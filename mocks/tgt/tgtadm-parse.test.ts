import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseShowPortal, parseShowTarget } from './tgtadm-parse.js';

// Recorded from tgtd 1.0.85 on Debian 12 with two qemu-io sessions open on target 1 and CHAP bound on target 2.
const recorded = readFileSync(new URL('./testdata/tgtadm-show-target.txt', import.meta.url), 'utf8');

t.test('targets, LUNs, sessions, ACLs and accounts', async (t) => {
  const targets = parseShowTarget(recorded);
  t.same(targets.map((x) => [x.tid, x.iqn]), [
    [1, 'iqn.2013-05.com.daterainc:tc:01:sn:aaaa'],
    [2, 'iqn.2013-05.com.daterainc:tc:01:sn:bbbb'],
    [3, 'iqn.2013-05.com.daterainc:tc:01:sn:empty'],
  ]);
  const [a, b, empty] = targets;
  t.same(a!.luns, [
    { lun: 1, backingFile: '/tmp/cap/d1.img', serial: '0b4e5c3c-1111-2222-3333-444455556666', sizeBytes: 67_000_000 },
    { lun: 2, backingFile: '/tmp/cap/d2.img', serial: 'beaf12', sizeBytes: 67_000_000 },
  ], 'LUN 0 (the controller) is left out');
  t.same(a!.sessions, [
    { initiator: 'iqn.1993-08.org.debian:01:node1', addresses: ['127.0.0.1'] },
    { initiator: 'iqn.1993-08.org.debian:01:node2', addresses: ['127.0.0.1'] },
  ]);
  t.same(a!.acl, ['iqn.1993-08.org.debian:01:node1', 'iqn.1993-08.org.debian:01:node2']);
  t.same(a!.accounts, []);
  t.same(b!.sessions, []);
  t.same(b!.acl, ['iqn.1993-08.org.debian:01:node3']);
  t.same(b!.accounts, [
    { user: 'chapuser', outgoing: false },
    { user: 'mutualuser', outgoing: true },
  ]);
  t.same(empty, { iqn: 'iqn.2013-05.com.daterainc:tc:01:sn:empty', tid: 3, luns: [], acl: [], sessions: [], accounts: [] });
});

t.test('no targets', async (t) => {
  t.same(parseShowTarget(''), []);
});

t.test('output that is not a target listing is an error, not an empty list', async (t) => {
  t.throws(() => parseShowTarget('tgtadm: can not connect to the tgt daemon\n'), { code: 'TARGET_HOST' });
});

t.test('portals', async (t) => {
  // Recorded: two loopback portals, and the wildcard tgtd falls back to when it cannot bind the one it was given.
  t.same(parseShowPortal('Portal: 127.0.0.2:23260,1\nPortal: 127.0.0.1:23260,1\n'), ['127.0.0.2:23260', '127.0.0.1:23260']);
  t.same(parseShowPortal('Portal: [::]:3260,1\nPortal: 0.0.0.0:3260,1\n'), ['[::]:3260', '0.0.0.0:3260']);
  t.same(parseShowPortal(''), []);
});
