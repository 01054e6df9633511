import { MvCommand } from '../../lib/base-command';
import { connectEngine } from '../../builder/engine';
import { createBuilder } from '../../builder/image';
import { Progress } from '../../lib/progress';

export default class BuilderCreate extends MvCommand {
  static override summary = 'Make the builder image (Debian bookworm + the build toolchain) without any registry';
  static override description = `Runs debootstrap --variant=minbase bookworm from the host's Debian mirror with the build
stages' packages (debian-packages.txt), and imports the result into the Docker engine (DOCKER_HOST,
else /var/run/docker.sock) as mv-image-builder:<hash of the package list>. Does nothing when that
image exists. 'mv-image build --builder docker' then runs the package and iso stages in it.`;
  static override enableJsonFlag = true;

  async run() {
    await this.parse(BuilderCreate);
    const docker = await connectEngine();
    const progress = this.jsonEnabled() ? Progress.quiet() : new Progress();
    const b = await progress.stage('builder', () => createBuilder(docker, progress));
    this.log(`${b.tag} (${(b.size / 1e6).toFixed(0)} MB${b.cached ? ', already there' : ''})`);
    return b;
  }
}
