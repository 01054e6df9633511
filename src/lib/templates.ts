// Renders the ejs files under templates/ (every generated text file comes from there).
import ejs from 'ejs';
import { readFileSync } from 'node:fs';
import { repoPath } from './paths';

export function render(name: string, data: Record<string, unknown>): string {
  const file = repoPath('templates', name);
  return ejs.render(readFileSync(file, 'utf8'), data, { filename: file, strict: false });
}
