import { Args, Flags } from '@oclif/core';
import { MvCommand } from '../lib/base-command';
import { buildImage } from '../pipeline';
import { FORMATS, FORMAT_NAMES, FormatName } from '../formats';
import { Progress } from '../lib/progress';
import { BUILDERS, KERNELS } from '../lib/manifest';

export default class Build extends MvCommand {
  static override summary = "Build a bootable ISO (BIOS + UEFI) that runs a package's program at boot";
  static override description = `Builds the package (its manifest's "build" command, or make), then assembles the image:
kernel (Debian's linux-image-amd64), initramfs (busybox, KVM modules, the program and its
libraries), init, and a hybrid ISO made by grub-mkrescue. Each stage is cached under
$XDG_CACHE_HOME/mv-image by a hash of its inputs. SOURCE_DATE_EPOCH is honoured.`;
  static override examples = ['<%= config.bin %> build examples/hello', '<%= config.bin %> build ./pkg -o /tmp/pkg.iso --json'];
  static override enableJsonFlag = true;
  static override args = { dir: Args.string({ description: 'package directory', default: '.' }) };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'where to write the image (default: images/<name>.iso, or images/<name>-netboot/)' }),
    format: Flags.option({
      description: `output format: ${FORMAT_NAMES.map((f) => `${f} (${FORMATS[f].summary})`).join('; ')}`,
      options: FORMAT_NAMES,
      default: 'iso' as FormatName,
    })(),
    builder: Flags.option({
      description:
        'where the package and iso stages run: host, docker (a container from the builder image, see builder create) or auto (docker when an engine answers); default: the manifest\'s "builder", else host',
      options: BUILDERS,
    })(),
    kernel: Flags.option({
      description:
        'ROS kernel: debian (linux-image-amd64) or tuned (built from linux-source with kernel-configs/; default: the manifest\'s "kernel")',
      options: KERNELS,
    })(),
  };

  async run() {
    const { args, flags } = await this.parse(Build);
    const progress = this.jsonEnabled() ? Progress.quiet() : new Progress();
    const r = await buildImage({
      packageDir: args.dir,
      output: flags.output,
      progress,
      builder: flags.builder,
      kernel: flags.kernel,
      format: flags.format,
    });
    this.log(`${r.image} (${(r.size / 1e6).toFixed(1)} MB${r.sha256 ? `, sha256 ${r.sha256.slice(0, 16)}…` : ''})`);
    return r;
  }
}
