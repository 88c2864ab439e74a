import t from 'tap';
import { XmlError, findAll, parseXml, textOf } from './xml-check.js';

t.test('parses a well-formed document with prolog, doctype, comments, CDATA and entities', async (t) => {
  const doc = parseXml(`<?xml version="1.0"?>\n<!DOCTYPE html>\n<!-- c -->\n<r a='1' b="x &amp; &lt;&#65;&#x42;">t1<c/><?pi x?><!-- in --><c k="v">&gt;<![CDATA[<raw>]]></c></r>\n<!-- after -->\n`);
  t.equal(doc.name, 'r');
  t.same(doc.attrs, { a: '1', b: 'x & <AB' });
  t.equal(findAll(doc, 'c').length, 2);
  t.equal(textOf(doc), 't1><raw>');
  t.same(findAll(doc, 'none'), []);
});

t.test('rejects what a CI XML parser rejects', async (t) => {
  const bad: [string, RegExp][] = [
    ['<a><b></a></b>', /closes/],
    ['<a>', /unclosed/],
    ['<a></a><b/>', /after the root/],
    ['<a x=1/>', /unquoted/],
    ['<a x="1" x="2"/>', /duplicate/],
    ['<a x="<"/>', /< in an attribute/],
    ['<a x="1/>', /unterminated attribute/],
    ['<a x"1"/>', /expected =/],
    ['<a x="1"y="2"/>', /whitespace/],
    ['<a>&nbsp;</a>', /unknown entity/],
    ['<a>& b</a>', /bare &/],
    ['<a>&#0;</a>', /illegal character reference/],
    ['<a>\u0001</a>', /illegal character/],
    ['<a>]]></a>', /]]> in text/],
    ['<a><![CDATA[x</a>', /unterminated CDATA/],
    ['<a><!-- x</a>', /unterminated comment/],
    ['<a><!-- a -- b --></a>', /-- inside/],
    ['<a><?pi</a>', /unterminated processing/],
    ['<?xml x', /unterminated processing/],
    ['<!DOCTYPE a [<!ENTITY x "y">]><a/>', /unsupported doctype/],
    ['<a></a >x', /after the root/],
    ['<a></a', /expected >/],
    ['text', /expected </],
    ['<1/>', /expected a name/],
  ];
  for (const [xml, why] of bad) {
    let caught: unknown;
    try {
      parseXml(xml);
    } catch (e) {
      caught = e;
    }
    t.ok(caught instanceof XmlError, `${JSON.stringify(xml)} is rejected`);
    t.match((caught as Error | undefined)?.message, why, `${JSON.stringify(xml)}: ${(caught as Error | undefined)?.message}`);
  }
});
