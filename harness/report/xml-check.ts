/**
 * A strict, small XML well-formedness parser, so tests can prove the JUnit (and the XHTML-compatible HTML)
 * reports parse, and read them back, without an XML dependency. It checks what breaks CI parsers: one root,
 * matching and properly nested tags, quoted and unique attributes, known entities only, legal characters,
 * no `]]>` in text, no `<` in attribute values. No DTDs beyond a bare `<!DOCTYPE name>`.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: (XmlElement | string)[];
}

const NAME = /[A-Za-z_:][\w.:-]*/y;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
// XML 1.0 Char production, minus what the parser already handles.
const BAD_CHAR = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

export class XmlError extends Error {}

/** Parse `text` or throw `XmlError` naming the offset and what was wrong. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (what: string): never => {
    throw new XmlError(`${what} at offset ${i}: ${JSON.stringify(text.slice(i, i + 30))}`);
  };
  const bad = BAD_CHAR.exec(text);
  if (bad) {
    i = bad.index;
    fail('illegal character');
  }
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (!m) return fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  const skipSpace = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const decode = (raw: string): string =>
    raw.replace(/&([^;&]*);|&/g, (m: string, ent: string | undefined) => {
      if (ent === undefined) return fail('bare &');
      if (ent in ENTITIES) return ENTITIES[ent];
      const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ent);
      if (!num) return fail(`unknown entity &${ent};`);
      const code = num[1] !== undefined ? parseInt(num[1], 16) : Number(num[2]);
      const ch = code <= 0x10ffff ? String.fromCodePoint(code) : '\0';
      if (BAD_CHAR.test(ch)) return fail(`illegal character reference &${ent};`);
      return ch;
    });
  // Prolog: XML declaration, comments, processing instructions, one doctype.
  const misc = (allowDoctype: boolean) => {
    for (;;) {
      skipSpace();
      if (text.startsWith('<?', i)) {
        const end = text.indexOf('?>', i);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else if (text.startsWith('<!--', i)) comment();
      else if (allowDoctype && text.startsWith('<!DOCTYPE', i)) {
        const end = text.indexOf('>', i);
        if (end < 0 || text.slice(i, end).includes('[')) fail('unsupported doctype');
        i = end + 1;
        allowDoctype = false;
      } else return;
    }
  };
  const comment = () => {
    const end = text.indexOf('-->', i + 4);
    if (end < 0) fail('unterminated comment');
    if (text.slice(i + 4, end).includes('--')) fail('-- inside a comment');
    i = end + 3;
  };
  const element = (): XmlElement => {
    if (text[i] !== '<') fail('expected <');
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [] };
    for (;;) {
      const before = i;
      skipSpace();
      if (text.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (text[i] === '>') {
        i++;
        break;
      }
      if (i === before) fail('expected whitespace before an attribute');
      const attr = name();
      skipSpace();
      if (text[i] !== '=') fail('expected =');
      i++;
      skipSpace();
      const q = text[i];
      if (q !== '"' && q !== "'") fail('unquoted attribute value');
      const end = text.indexOf(q, i + 1);
      if (end < 0) fail('unterminated attribute value');
      const raw = text.slice(i + 1, end);
      if (raw.includes('<')) fail('< in an attribute value');
      if (attr in el.attrs) fail(`duplicate attribute ${attr}`);
      el.attrs[attr] = decode(raw);
      i = end + 1;
    }
    let buf = '';
    const flush = () => {
      if (buf) el.children.push(buf);
      buf = '';
    };
    for (;;) {
      if (i >= text.length) fail(`unclosed <${el.name}>`);
      if (text.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== el.name) fail(`</${closing}> closes <${el.name}>`);
        skipSpace();
        if (text[i] !== '>') fail('expected >');
        i++;
        flush();
        return el;
      }
      if (text.startsWith('<![CDATA[', i)) {
        const end = text.indexOf(']]>', i);
        if (end < 0) fail('unterminated CDATA');
        buf += text.slice(i + 9, end);
        i = end + 3;
      } else if (text.startsWith('<!--', i)) comment();
      else if (text.startsWith('<?', i)) {
        const end = text.indexOf('?>', i);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else if (text[i] === '<') {
        flush();
        el.children.push(element());
      } else {
        const next = text.indexOf('<', i);
        const raw = text.slice(i, next < 0 ? text.length : next);
        if (raw.includes(']]>')) fail(']]> in text');
        buf += decode(raw);
        i += raw.length;
      }
    }
  };
  misc(true);
  const root = element();
  misc(false);
  if (i < text.length) fail('content after the root element');
  return root;
}

/** Every descendant element named `name`, in document order. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (typeof c === 'string') continue;
    if (c.name === name) out.push(c);
    out.push(...findAll(c, name));
  }
  return out;
}

/** The concatenated text of an element and its descendants. */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}
