// Quoting for the scripts we generate: POSIX shell (init, harness scripts) and GRUB script.
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
export const shJoin = (words: string[]) => words.map(shq).join(' ');

/** GRUB script: single quotes keep everything literal ($ included); a ' is closed, escaped, reopened. */
export const grubQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
