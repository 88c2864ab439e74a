/**
 * Quoting for the generated setup scripts (the only place a shell is unavoidable: mount setup inside fresh
 * namespaces). Every word that reaches a script goes through `shq`, so spaces, quotes, `$` and newlines stay
 * literal.
 */

/** One POSIX-shell word that reads back as exactly `s`. */
export function shq(s: string): string {
  if (s.includes('\0')) throw new Error('a shell word cannot contain a NUL byte');
  if (s !== '' && /^[\w@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command line: each argv element quoted as one word. */
export function shCommand(argv: readonly string[]): string {
  return argv.map(shq).join(' ');
}
