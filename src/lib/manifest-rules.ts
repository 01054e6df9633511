// Manifest rules JSON Schema cannot say: each is checked when the manifest is read, before any
// stage runs, so a bad value costs no build. README.md's manifest table states every rule.
import { parseCmdline } from './cmdline';
import type { Manifest } from './manifest';
import { msg } from './messages';

type Rule = [where: string, problem: string, fix: string];

function rules(m: Manifest): Rule | undefined {
  const cmdline = parseCmdline(m.cmdline);
  if (!Array.isArray(cmdline)) return ['cmdline', cmdline.why, cmdline.fix];
  return undefined;
}

/** Throws the first rule `m` breaks, as one manifest line naming the field. */
export function checkManifestRules(m: Manifest, file: string): void {
  const broken = rules(m);
  if (broken) throw msg.manifestRule(file, ...broken);
}
