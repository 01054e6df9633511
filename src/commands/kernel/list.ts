import { MvCommand } from '../../lib/base-command';
import { listTunedKernels } from '../../stages/tuned-kernel';

export default class KernelList extends MvCommand {
  static override summary = 'List the tuned kernels in the cache: version, fragments, size and build time';
  static override enableJsonFlag = true;

  async run() {
    await this.parse(KernelList);
    const kernels = listTunedKernels();
    if (!this.jsonEnabled()) {
      if (!kernels.length) this.log("No tuned kernel is cached yet; build one with 'mv-image kernel build'.");
      for (const k of kernels) {
        this.log(
          `${k.version.padEnd(24)} ${(k.size / 1e6).toFixed(2).padStart(6)} MB  built in ${(k.buildMs / 1000).toFixed(0).padStart(4)} s  ${k.builtAt.slice(0, 16)}  ${k.fragments.join(',')}`,
        );
        this.log(`  ${k.dir}`);
      }
    }
    return kernels;
  }
}
