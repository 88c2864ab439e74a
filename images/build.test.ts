// images/build without Docker: the Dockerfile subset the offline builder replays (and what it refuses, with file and
// line), and the content hash that decides whether an image is rebuilt.
import t, { type Test } from 'tap';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../lib/exec.js';

const BUILD = join(dirname(fileURLToPath(import.meta.url)), 'build');
const build = (...args: string[]) => run(['bash', BUILD, ...args], { nothrow: true, timeoutMs: 60_000 });

async function fixture(t: Test, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-images-build-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

t.test('--check replays every Dockerfile of the repo', async (t) => {
  const r = await build('--check');
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^tgt: RUN apt-get update .*install -y --no-install-recommends tgt /m, 'continued RUN lines are joined');
  t.match(r.stdout, /^tgt: CMD \["tgtd", "-f"\]$/m);
  t.match(r.stdout, /^mariadb: ENTRYPOINT \["docker-entrypoint.sh"\]$/m);
  t.match(r.stdout, /^mariadb: COPY etc-mysql \/etc\/mysql$/m);
  t.match(r.stdout, /^driver: WORKDIR \/opt\/dkc$/m);
  t.match(r.stdout, /^driver: RUN .*open-iscsi xfsprogs e2fsprogs util-linux/m, 'the node tools the driver calls');
  t.notMatch(r.stdout, /#/, 'comment lines are dropped');
});

t.test('the offline builder refuses what it cannot replay, naming the file and line', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['ADD', 'FROM debian:12-slim\nADD x /x\n', /Dockerfile:2: ADD is not supported/],
    ['another base', 'FROM alpine:3.20\n', /Dockerfile:1: FROM alpine:3.20: .*Debian 12/],
    ['multi-stage', 'FROM debian:12-slim\nFROM debian:12-slim\n', /Dockerfile:2: a second FROM/],
    ['COPY --from', 'FROM debian:12-slim\nCOPY --from=build /a /a\n', /Dockerfile:2: COPY --from=build is not supported/],
    ['relative COPY destination', 'FROM debian:12-slim\nCOPY a b\n', /COPY destination must be absolute/],
    ['ENV with spaces', 'FROM debian:12-slim\nENV A="b c"\n', /Dockerfile:2: ENV must be one KEY=VALUE/],
    ['JSON RUN', 'FROM debian:12-slim\nRUN ["true"]\n', /RUN in JSON form/],
    ['no FROM first', 'RUN true\n', /Dockerfile:1: the first instruction must be FROM/],
    ['unfinished continuation', 'FROM debian:12-slim\nRUN true \\\n', /Dockerfile:2: the file ends inside a continued line/],
  ];
  for (const [what, text, message] of cases) {
    const dir = await fixture(t, { 'x/Dockerfile': text });
    const r = await build('--images-dir', dir, '--check', 'x');
    t.equal(r.exitCode, 1, `${what}: refused`);
    t.match(r.stderr, message, `${what}: ${r.stderr.trim()}`);
  }
  const ok = await fixture(t, { 'x/Dockerfile': '# c\nfrom debian:12-slim@sha256:' + 'a'.repeat(64) + '\nrun a \\\n  # dropped\n  && b\nLABEL k=v\n' });
  const r = await build('--images-dir', ok, '--check', 'x');
  t.equal(r.exitCode, 0, r.stderr);
  t.same(r.stdout.trim().split('\n').slice(1), ['x: RUN a   && b', 'x: LABEL k=v'], 'lower-case keywords, a digest-pinned base, a comment inside a continuation');
});

t.test('names and options are checked', async (t) => {
  const unknown = await build('--check', 'nope');
  t.equal(unknown.exitCode, 2);
  t.match(unknown.stderr, /no image 'nope'/);
  const option = await build('--bogus');
  t.equal(option.exitCode, 2);
  t.match(option.stderr, /unknown option '--bogus'/);
  const help = await build('--help');
  t.equal(help.exitCode, 0);
  t.match(help.stdout, /--print-ref/);
});

t.test('the content hash follows every input and nothing else', async (t) => {
  const dir = await fixture(t, {
    'x/Dockerfile': 'FROM debian:12-slim\nCOPY f /f\n',
    'x/notes.txt': 'one\n',
    'input/f': 'data 1\n',
  });
  // The stage hook names an input outside the image folder, as the driver's names dist/.
  await writeFile(join(dir, 'x/stage'), `#!/bin/sh\n[ "$1" = inputs ] && echo "f ${join(dir, 'input/f')}"\nexit 0\n`);
  await chmod(join(dir, 'x/stage'), 0o755);
  const ref = async (images = dir) => {
    const r = await build('--images-dir', images, '--print-ref', 'x');
    t.equal(r.exitCode, 0, r.stderr);
    return r.stdout.trim();
  };
  const first = await ref();
  t.match(first, /^dkc\/x:[0-9a-f]{12}$/);
  t.equal(await ref(), first, 'the same inputs give the same reference');

  const moved = join(dir, 'elsewhere');
  await mkdir(moved);
  await cp(join(dir, 'x'), join(moved, 'x'), { recursive: true });
  t.equal(await ref(moved), first, 'where the checkout lives does not matter');

  await writeFile(join(dir, 'input/f'), 'data 2\n');
  const second = await ref();
  t.not(second, first, 'a changed stage input changes the reference');
  await writeFile(join(dir, 'x/notes.txt'), 'two\n');
  const third = await ref();
  t.not(third, second, 'a changed file in the image folder changes it');
  await chmod(join(dir, 'x/notes.txt'), 0o600);
  t.not(await ref(), third, 'so does a changed file mode');

  await writeFile(join(dir, 'x/stage'), `#!/bin/sh\n[ "$1" = inputs ] && echo "f ${join(dir, 'input/missing')}"\nexit 0\n`);
  const missing = await build('--images-dir', dir, '--print-ref', 'x');
  t.equal(missing.exitCode, 1, 'an input that does not exist is an error');
  t.match(missing.stderr, /input:f: .*missing does not exist/);
});

t.test('the repo images have references without Docker or root', async (t) => {
  const r = await build('--print-ref', 'tgt', 'mariadb');
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^dkc\/tgt:[0-9a-f]{12}\ndkc\/mariadb:[0-9a-f]{12}\n$/);
});
