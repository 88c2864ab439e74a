import t from 'tap';
import { disallowedOption, parseArgs, parsePortal } from './args.js';
import { IscsiadmError } from './iscsi-err.js';

t.test('short and long forms give the same command', async (t) => {
  const short = parseArgs(['-m', 'node', '-T', 'iqn.x:a', '-p', '10.0.0.1:3260', '-l']);
  const long = parseArgs(['--mode=node', '--targetname', 'iqn.x:a', '--portal=10.0.0.1:3260', '--login']);
  const abbrev = parseArgs(['--mode', 'node', '--target=iqn.x:a', '--portal', '10.0.0.1:3260', '--login']);
  for (const a of [short, long, abbrev]) {
    t.equal(a.mode, 'node');
    t.equal(a.target, 'iqn.x:a');
    t.same(a.portal, { ip: '10.0.0.1', port: 3260 });
    t.equal(a.login, true);
  }
  t.same(short.given, ['m', 'T', 'p', 'l']);
});

t.test('clustered flags and attached values, as getopt reads them', async (t) => {
  const a = parseArgs(['-mnode', '-Rl', '-P1', '-onew', '-odelete', '-Idefault', '-I', 'iser']);
  t.equal(a.mode, 'node');
  t.ok(a.rescan && a.login);
  t.equal(a.printLevel, 1);
  t.same(a.ops, ['new', 'delete']);
  t.same(a.ifaces, ['default', 'iser']);
  const b = parseArgs(['-m', 'session', '-uRS', '-r', '/sys/class/iscsi_session/session7', 'ignored-operand']);
  t.equal(b.sid, 7);
  t.ok(b.logout && b.rescan && b.show);
  t.equal(parseArgs(['-m', 'session', '-r', '12']).sid, 12);
});

t.test('-n/-v pairs become params; a lone -n is dropped', async (t) => {
  const a = parseArgs(['-m', 'node', '-o', 'update', '-n', 'node.session.auth.username', '-v', 'u', '--name=node.startup', '--value=automatic']);
  t.same(a.params, [
    { name: 'node.session.auth.username', value: 'u' },
    { name: 'node.startup', value: 'automatic' },
  ]);
  t.same(parseArgs(['-m', 'node', '-o', 'update', '-n', 'x']).params, []);
});

t.test('discovery forms that drivers use', async (t) => {
  const a = parseArgs(['-m', 'discoverydb', '-t', 'sendtargets', '-p', '127.0.0.1:3260', '-I', 'default', '--discover']);
  t.equal(a.mode, 'discoverydb');
  t.equal(a.type, 'sendtargets');
  t.ok(a.discover);
  const b = parseArgs(['-m', 'discovery', '-t', 'st', '-p', '127.0.0.1']);
  t.same(b.portal, { ip: '127.0.0.1' });
  t.equal(b.type, 'st');
  t.same(parseArgs(['-L', 'all', '-m', 'node']).loginAll, 'all');
  t.same(parseArgs(['--logoutall=manual', '-m', 'node']).logoutAll, 'manual');
  t.ok(parseArgs(['--version']).version);
  t.ok(parseArgs(['-h']).help);
  t.ok(parseArgs(['-m', 'node', '-s', '-d', '8', '-k', '0', '--', '-l']).stats);
});

t.test('portals: port, tpgt, IPv6', async (t) => {
  t.same(parsePortal('10.0.0.1'), { ip: '10.0.0.1' });
  t.same(parsePortal('10.0.0.1:3261'), { ip: '10.0.0.1', port: 3261 });
  t.same(parsePortal('10.0.0.1:3260,1'), { ip: '10.0.0.1', port: 3260, tpgt: 1 });
  t.same(parsePortal('10.0.0.1,2'), { ip: '10.0.0.1', tpgt: 2 });
  t.same(parsePortal('[fd00::1]:3260'), { ip: 'fd00::1', port: 3260 });
  t.same(parsePortal('[fd00::1]'), { ip: 'fd00::1' });
  t.same(parsePortal('fd00::1'), { ip: 'fd00::1' });
  t.same(parsePortal('host.example:'), { ip: 'host.example' });
});

t.test('bad command lines are usage errors (exit 7) that say what is wrong', async (t) => {
  const cases: [string[], RegExp][] = [
    [['-m', 'bogus'], /invalid mode 'bogus'/],
    [['-x'], /invalid option -- 'x'/],
    [['--frobnicate'], /unrecognized option '--frobnicate'/],
    [['--s'], /ambiguous/],
    [['-m'], /requires an argument -- 'm'/],
    [['--mode'], /'--mode' requires an argument/],
    [['--login=yes'], /doesn't allow an argument/],
    [['-m', 'node', '-o', 'frob'], /can not recognize operation: 'frob'/],
    [['-m', 'session', '-r', 'abc'], /invalid sid 'abc'/],
  ];
  for (const [argv, re] of cases) {
    const e = (() => {
      try {
        parseArgs(argv);
      } catch (err) {
        return err;
      }
    })();
    t.type(e, IscsiadmError, argv.join(' '));
    t.equal((e as IscsiadmError).status, 7, argv.join(' '));
    t.match((e as IscsiadmError).lines[0], re, argv.join(' '));
  }
});

t.test('each mode accepts only its options', async (t) => {
  t.equal(disallowedOption(parseArgs(['-m', 'session', '-T', 'iqn.x'])), 'T');
  t.equal(disallowedOption(parseArgs(['-m', 'discovery', '-u'])), 'u');
  t.equal(disallowedOption(parseArgs(['-m', 'node', '-T', 'x', '-p', 'y', '-l'])), undefined);
  t.equal(disallowedOption(parseArgs(['-m', 'session', '-P', '3', '-r', '1', '-u'])), undefined);
  t.equal(disallowedOption(parseArgs(['-V'])), undefined);
});
