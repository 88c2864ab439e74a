import t from 'tap';
import { cdata, cleanText, escapeAttr, escapeText } from './escape.js';
import { parseXml, textOf } from './xml-check.js';

t.test('cleanText strips ANSI, shows control characters, replaces what XML cannot hold', async (t) => {
  t.equal(cleanText('\u001b[1;31mred\u001b[0m'), 'red');
  t.equal(cleanText('a\u0007b\u0000c\td\ne\r'), 'a\\x07b\\x00c\td\ne\r', 'tab, newline and CR kept');
  t.equal(cleanText('x\ud800y\udc00z\ufffe'), 'x\ufffdy\ufffdz\ufffd', 'lone surrogates and U+FFFE replaced');
  t.equal(cleanText('ok \ud83d\ude00'), 'ok \ud83d\ude00', 'a surrogate pair is kept');
});

t.test('escapeText and escapeAttr', async (t) => {
  t.equal(escapeText('<a href="x">&</a>'), '&lt;a href="x"&gt;&amp;&lt;/a&gt;');
  t.equal(escapeAttr(`"it's"\n\t\r<`), '&quot;it&#39;s&quot;&#10;&#9;&#13;&lt;');
  const el = parseXml(`<a v="${escapeAttr('x\ny "q" \'s\' <&>')}"/>`);
  t.equal(el.attrs.v, 'x\ny "q" \'s\' <&>', 'round-trips through a strict parser');
});

t.test('cdata keeps ]]> by splitting the section', async (t) => {
  const hostile = 'a ]]> b ]]]]> <c> & \u001b[31m';
  const xml = `<e>${cdata(hostile)}</e>`;
  t.equal(textOf(parseXml(xml)), 'a ]]> b ]]]]> <c> & ');
  t.equal(cdata(''), '<![CDATA[]]>');
});
