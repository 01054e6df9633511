// Quoting for the POSIX shell scripts we generate (init, harness scripts).
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
export const shJoin = (words: string[]) => words.map(shq).join(' ');
