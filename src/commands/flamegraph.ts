import { Args, Flags } from '@oclif/core';
import { MvCommand } from '../lib/base-command';
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { msg } from '../lib/messages';
import { MAX_BYTES, parseFolded, renderFlameGraph } from '../lib/flamegraph';
import { readAt } from '../lib/iso9660';

export default class Flamegraph extends MvCommand {
  static override summary = 'Draw a flame graph (SVG) from folded stacks, such as the file MV_PROFILE writes';
  static override description = `MV_PROFILE=FILE makes a program built with mv-cc (or run with mvrun) sample the code running in the HRT and write folded stacks ("main;f;g 12") at exit. This draws them as a flame graph: one box per function, as wide as its share of the samples, callers below callees. Forwarded calls are the leaf boxes [syscall:NAME] and [page-fault]. The SVG opens in a browser (hover for counts).`;
  static override examples = ['MV_PROFILE=prof.folded ./prog && <%= config.bin %> flamegraph prof.folded -o prof.svg'];
  static override args = { folded: Args.string({ description: 'the folded-stack file', required: true }) };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'the SVG to write (default: the input with .svg)' }),
    title: Flags.string({ description: 'a title above the graph (default: the input file name)' }),
    width: Flags.integer({ description: 'width in pixels', default: 1200, min: 200, max: 20000 }),
  };

  async run() {
    const { args, flags } = await this.parse(Flamegraph);
    const text = readBounded(args.folded);
    const out = flags.output ?? args.folded.replace(/(\.folded)?$/, '.svg');
    const svg = await renderFlameGraph(parseFolded(text, args.folded), { title: flags.title ?? basename(args.folded), width: flags.width });
    const tmp = `${out}.tmp.${process.pid}`;
    try {
      writeFileSync(tmp, svg);
      renameSync(tmp, out);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw msg.flamegraphWrite(out, String((e as NodeJS.ErrnoException).code ?? e));
    }
    this.log(`wrote ${out}`);
  }
}

/** The whole file, refusing what is not a regular file or is larger than parseFolded takes. */
function readBounded(path: string): string {
  if (!existsSync(path)) throw msg.profileMissing(path);
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw msg.profileNotFile(path);
    if (st.size > MAX_BYTES) throw msg.profileTooLarge(path, MAX_BYTES >> 20);
    return readAt(fd, 0, st.size).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
