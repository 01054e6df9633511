import { Args } from '@oclif/core';
import { MvCommand } from '../lib/base-command';
import { shJoin } from '../lib/shell';
import { inspect, HrtInfo } from '../inspect';

const hrtLine = (h: HrtInfo | null) =>
  h ? `yes (${h.section}, ${h.size} bytes, ${h.nautilusVersion ?? 'unknown version'})` : 'no (runs natively)';

export default class Inspect extends MvCommand {
  static override summary = 'Show what an ISO or a program carries: kernel, command line, initramfs, the embedded HRT';
  static override examples = ['<%= config.bin %> inspect images/hello.iso', '<%= config.bin %> inspect ./hello --json'];
  static override enableJsonFlag = true;
  static override args = { target: Args.string({ description: 'an ISO built by mv-image, or an x86-64 program', required: true }) };

  async run() {
    const { args } = await this.parse(Inspect);
    const r = await inspect(args.target);
    if (r.kind === 'binary') {
      this.log(`program:      ${r.path} (ELF ${r.elfType}${r.interp ? `, interpreter ${r.interp}` : ', static'})`);
      this.log(`embedded HRT: ${hrtLine(r.hrt)}`);
    } else {
      this.log(`image:        ${r.path}`);
      this.log(`kernel:       ${r.kernelVersion ?? 'unknown'}`);
      this.log(`command line: ${r.cmdline}`);
      this.log(`program:      ${r.program ? shJoin([r.program.path, ...r.program.args]) : 'unknown (not built by this mv-image)'}`);
      this.log(
        `embedded HRT: ${r.program?.mvrun ? 'no, but it runs under mvrun: libmv-preload.so puts its main in the HRT' : hrtLine(r.program?.hrt ?? null)}`,
      );
      this.log(`initramfs:    ${r.initramfs.length} entries`);
      const w = r.initramfs.reduce((n, m) => Math.max(n, String(m.size).length), 0);
      for (const m of r.initramfs) this.log(`  ${m.mode.padEnd(4)} ${String(m.size).padStart(w)}  ${m.path}`);
    }
    return r;
  }
}
