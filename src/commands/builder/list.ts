import { MvCommand } from '../../lib/base-command';
import { connectEngine } from '../../builder/engine';
import { builderTag, listBuilders } from '../../builder/image';

export default class BuilderList extends MvCommand {
  static override summary = 'List the builder images in the Docker engine; * marks the one builds use';
  static override enableJsonFlag = true;

  async run() {
    await this.parse(BuilderList);
    const images = await listBuilders(await connectEngine());
    const current = builderTag();
    for (const i of images) {
      this.log(`${i.tag === current ? '*' : ' '} ${i.tag}  ${(i.size / 1e6).toFixed(0)} MB  ${new Date(i.created).toISOString()}`);
    }
    if (!images.length) this.log(`no builder image (run 'mv-image builder create' to make ${current})`);
    return { current, images };
  }
}
