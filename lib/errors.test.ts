import t from 'tap';
import { CommandError, HarnessError, TimeoutError, errorMessage, formatArgv } from './errors.js';

t.test('formatArgv quotes what a shell would split or expand', async (t) => {
  t.equal(formatArgv(['tgtadm', '--op', 'new', '-T', 'iqn.2013-05.com.daterainc:tc:01:sn:ab']), 'tgtadm --op new -T iqn.2013-05.com.daterainc:tc:01:sn:ab');
  t.equal(formatArgv(['sh', '-c', "echo 'hi' $HOME"]), `sh -c 'echo '\\''hi'\\'' $HOME'`);
  t.equal(formatArgv(['a b']), "'a b'");
});

t.test('CommandError carries argv, exit code and the output tail', async (t) => {
  const out = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
  const e = new CommandError(['false', '--flag'], 3, null, out, 'boom\n');
  t.equal(e.code, 'COMMAND_FAILED');
  t.equal(e.exitCode, 3);
  t.match(e.message, /^command exited 3: false --flag\nboom\n/);
  t.match(e.message, /line 19$/);
  t.notMatch(e.message, /line 11\n/, 'only the tail of stdout');
  t.match(new CommandError(['sleep', '9'], null, 'SIGKILL', '', '').message, /was killed by SIGKILL: sleep 9$/);
  t.ok(e instanceof HarnessError);
});

t.test('TimeoutError says what it waited for and what it saw last', async (t) => {
  const e = new TimeoutError('pod mysql-0 Ready', 5000, 'phase Pending');
  t.equal(e.code, 'TIMEOUT');
  t.equal(e.message, 'timed out after 5000 ms waiting for pod mysql-0 Ready; last seen: phase Pending');
  t.equal(errorMessage(e), e.message);
  t.equal(errorMessage('plain'), 'plain');
});
