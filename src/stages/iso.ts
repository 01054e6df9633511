// Stage "iso": one hybrid ISO (SeaBIOS and UEFI, CD and USB stick) made by grub-mkrescue.
// Reproducible: grub-mkrescue itself is not, so it runs with
//  - the clock frozen at SOURCE_DATE_EPOCH (libfaketime): the FAT dates mtools writes into the
//    EFI image and GRUB's own temp files come from it;
//  - mformat given a fixed FAT volume serial (it is random otherwise);
//  - xorriso told to date every file at SOURCE_DATE_EPOCH (its own SOURCE_DATE_EPOCH support
//    uses each file's mtime, and GRUB's temp files carry the real time).
// Both tools are wrapped by small scripts first on PATH; grub-mkrescue finds them there.
// Its own temp files go to a TMPDIR inside the stage's temp dir, so they go with it on any exit.
import { copyFileSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cached, hashOf, sha256File } from '../lib/cache';
import { hostRunner, Runner } from '../builder/runner';
import { msg } from '../lib/messages';
import { render } from '../lib/templates';
import { grubArgs } from '../lib/cmdline';
import { grubQuote } from '../lib/shell';
import type { Stage } from '../lib/stage';

export interface IsoInputs {
  title: string;
  vmlinuz: string;
  initrd: string;
  cmdline: string;
  sourceDateEpoch: number;
  /** Where grub-mkrescue runs (default: this host). */
  runner?: Runner;
}

export interface IsoArtifact {
  cached: boolean;
  path: string;
}

/** `cmdline` is kernelCmdline's canonical line: each parameter becomes a GRUB word that GRUB
 *  hands to the kernel unchanged (src/lib/cmdline.ts). */
export function renderGrubCfg(i: Pick<IsoInputs, 'title' | 'cmdline'>): string {
  return render('grub.cfg.ejs', { title: grubQuote(i.title), args: grubArgs(i.cmdline), timeout: 0 });
}

/** grub-script-check's status when it rejects grub.cfg (it runs first, in the same runner call as
 *  grub-mkrescue, so a builder container is started once). */
const GRUB_CFG_REJECTED = 97;

function touchTree(dir: string, t: number): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) touchTree(p, t);
    utimesSync(p, t, t);
  }
  utimesSync(dir, t, t);
}

/** The FAT volume serial of the EFI image ("MVMI"); any fixed value would do. */
const FAT_SERIAL = '4d564d49';

function wrappers(dir: string, epoch: number): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const script = (name: string, body: string) => writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  script('mformat', `exec /usr/bin/mformat -N ${FAT_SERIAL} "$@"`);
  script('xorriso', `exec /usr/bin/xorriso -volume_date all_file_dates =${epoch} "$@"`);
  return bin;
}

/** Keyed by the kernel's and the initramfs's bytes, grub.cfg, SOURCE_DATE_EPOCH and the builder. */
export const isoStage: Stage<IsoInputs, IsoArtifact> = { name: 'iso', run: (_progress, i) => run(i) };

async function run(i: IsoInputs): Promise<IsoArtifact> {
  const runner = i.runner ?? hostRunner;
  runner.requireTools('iso');
  const grubCfg = renderGrubCfg(i);
  const key = hashOf({
    kernel: sha256File(i.vmlinuz),
    initrd: sha256File(i.initrd),
    grubCfg,
    epoch: i.sourceDateEpoch,
    format: 1,
    builder: runner.id,
  });
  const { dir, hit } = await cached(isoStage.name, key, async (tmp) => {
    const tree = join(tmp, 'tree');
    mkdirSync(join(tree, 'boot', 'grub'), { recursive: true });
    copyFileSync(i.vmlinuz, join(tree, 'boot', 'vmlinuz'));
    copyFileSync(i.initrd, join(tree, 'boot', 'initrd.img'));
    writeFileSync(join(tree, 'boot', 'grub', 'grub.cfg'), grubCfg);
    touchTree(tree, i.sourceDateEpoch);
    const out = join(tmp, 'image.iso');
    const bin = wrappers(tmp, i.sourceDateEpoch);
    const scratch = join(tmp, 'tmp');
    mkdirSync(scratch);
    const env = { SOURCE_DATE_EPOCH: String(i.sourceDateEpoch), TZ: 'UTC', TMPDIR: scratch };
    const frozen = new Date(i.sourceDateEpoch * 1000).toISOString().replace('T', ' ').replace(/\..*/, '');
    const check = `grub-script-check "$0" || exit ${GRUB_CFG_REJECTED}; exec "$@"`;
    const r = await runner.run(
      'sh',
      [
        '-c',
        check,
        join(tree, 'boot', 'grub', 'grub.cfg'),
        'faketime',
        '-f',
        `@${frozen} i0.0`,
        'grub-mkrescue',
        `--xorriso=${join(bin, 'xorriso')}`,
        '--compress=xz',
        '--fonts=',
        '--locales=',
        '--themes=',
        '-o',
        out,
        tree,
      ],
      { env, path: [bin], dirs: [tmp], stage: 'iso', what: 'grub-mkrescue' },
    );
    if (r.status === GRUB_CFG_REJECTED) throw msg.grubCfgInvalid(r.output);
    if (r.status !== 0) throw msg.isoFailed(r.output);
    // What a container gave back is read only as the regular file it must be.
    if (!lstatSync(out, { throwIfNoEntry: false })?.isFile()) throw msg.isoFailed(`${out} is not a regular file`);
    for (const d of [tree, bin, scratch]) rmSync(d, { recursive: true, force: true });
  });
  return { cached: hit, path: join(dir, 'image.iso') };
}
