/**
 * Escaping shared by the writers. Evidence is raw command output: it may hold ANSI colour codes, control
 * characters, lone surrogates and `]]>`, none of which may reach an XML or HTML document as they are.
 */

// ANSI CSI sequences (colours, cursor moves) as kubectl and friends print them on a TTY.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]/g;
// Characters XML 1.0 forbids (C0 controls except tab/newline/CR, U+FFFE/U+FFFF) and lone surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Strip ANSI sequences; show other control characters as `\xNN`; replace what cannot be shown with U+FFFD. */
export function cleanText(s: string): string {
  return s.replace(ANSI, '').replace(ILLEGAL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? `\\x${code.toString(16).padStart(2, '0')}` : '\ufffd';
  });
}

/** Text content for XML and HTML: `&`, `<`, `>` escaped. */
export function escapeText(s: string): string {
  return cleanText(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value (double- or single-quoted), with newlines kept as character references. */
export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

/** A CDATA section holding `s` exactly (after cleaning): each `]]>` is split across two sections. */
export function cdata(s: string): string {
  return `<![CDATA[${cleanText(s).replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}
