import t from 'tap';
import { execFileSync } from 'node:child_process';
import { shCommand, shq } from './shell.js';

t.test('words read back literally through a real shell', async (t) => {
  const nasty = ['plain', 'with space', "it's", 'say "hi"', '$HOME', '`id`', 'a\nb', '', '*', 'back\\slash', "'", '--x=y z'];
  const out = execFileSync('bash', ['-c', `printf '%s\\0' ${shCommand(nasty)}`]).toString();
  t.same(out.split('\0').slice(0, -1), nasty);
});

t.test('safe words stay unquoted, others are single-quoted', async (t) => {
  t.equal(shq('/usr/bin'), '/usr/bin');
  t.equal(shq('a b'), "'a b'");
  t.equal(shq(''), "''");
  t.throws(() => shq('a\0b'), /NUL/);
});
