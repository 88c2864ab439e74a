import t from 'tap';
import { run, which } from './exec.js';
import { CommandError } from './errors.js';

t.test('run returns output and exit code; argv is never a shell line', async (t) => {
  const r = await run(['printf', '%s|', 'a b', '$HOME', ';rm -rf /']);
  t.equal(r.stdout, 'a b|$HOME|;rm -rf /|');
  t.equal(r.exitCode, 0);
  t.ok(r.durationMs >= 0);
});

t.test('a non-zero exit throws CommandError unless nothrow', async (t) => {
  await t.rejects(run(['sh', '-c', 'echo out; echo err >&2; exit 4']), { name: 'CommandError', exitCode: 4, stderr: 'err\n', message: /exited 4: sh -c/ });
  const r = await run(['sh', '-c', 'exit 5'], { nothrow: true });
  t.equal(r.exitCode, 5);
});

t.test('input goes to stdin; cwd and env apply', async (t) => {
  t.equal((await run(['cat'], { input: 'piped' })).stdout, 'piped');
  t.equal((await run(['pwd'], { cwd: '/' })).stdout.trim(), '/');
  t.equal((await run(['sh', '-c', 'echo $DKC_X'], { env: { ...process.env, DKC_X: 'yes' } })).stdout.trim(), 'yes');
});

t.test('secrets are masked in errors', async (t) => {
  const err = await run(['sh', '-c', 'echo "pw=hunter22" >&2; exit 1', 'x', 'hunter22'], { secrets: ['hunter22'] }).catch((e: unknown) => e);
  t.type(err, CommandError);
  t.notMatch((err as Error).message, /hunter22/);
  t.match((err as Error).message, /pw=\*\*\*/);
});

t.test('timeouts kill the process', async (t) => {
  await t.rejects(run(['sleep', '5'], { timeoutMs: 100 }), { name: 'CommandError', signal: 'SIGKILL' });
});

t.test('a missing program is MISSING_TOOL with a hint', async (t) => {
  await t.rejects(run(['dkc-no-such-tool']), { code: 'MISSING_TOOL', message: /dkc-no-such-tool is not installed.*npm run setup/ });
  t.equal(await which('dkc-no-such-tool'), undefined);
  t.match(await which('sh'), /\/sh$/);
  t.throws(() => run([]), { code: 'INTERNAL' });
});
