import { Flags } from '@oclif/core';
import { MvCommand } from '../../lib/base-command';
import { knownFragments } from '../../lib/kconfig';
import { Progress } from '../../lib/progress';
import { runStage } from '../../lib/stage';
import { DEFAULT_FRAGMENTS, tunedKernelStage } from '../../stages/tuned-kernel';

export default class KernelBuild extends MvCommand {
  static override summary = "Build the tuned ROS kernel from Debian's linux-source with kernel-configs/ fragments";
  static override description = `Fetches linux-source-6.1 with apt-get download, runs make tinyconfig, merges the fragments,
runs make olddefconfig and checks that every requested option made it into .config, then builds
bzImage with all cores. The result is cached by the hash of (source version, merged options);
'mv-image build --kernel tuned' uses it. Fragments: ${knownFragments().join(', ')}.`;
  static override examples = [
    '<%= config.bin %> kernel build',
    '<%= config.bin %> kernel build --fragments base,kvm-host,hrt-partition,metal',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    fragments: Flags.string({
      description: 'comma-separated fragments of kernel-configs/, merged in order',
      default: DEFAULT_FRAGMENTS.join(','),
    }),
  };

  async run() {
    const { flags } = await this.parse(KernelBuild);
    const progress = this.jsonEnabled() ? Progress.quiet() : new Progress();
    const fragments = flags.fragments
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    const k = await runStage(progress, tunedKernelStage, { fragments });
    this.log(
      `${k.vmlinuz} (${k.version}, ${(k.info.size / 1e6).toFixed(2)} MB, ${k.cached ? 'cached' : `built in ${(k.info.buildMs / 1000).toFixed(0)} s`})`,
    );
    return { ...k.info, vmlinuz: k.vmlinuz, config: k.config, cached: k.cached };
  }
}
