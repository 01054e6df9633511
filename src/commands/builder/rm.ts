import { Args } from '@oclif/core';
import { MvCommand } from '../../lib/base-command';
import { connectEngine } from '../../builder/engine';
import { builderTag, removeBuilder, REPO } from '../../builder/image';

export default class BuilderRm extends MvCommand {
  static override summary = 'Remove a builder image (default: the one builds use)';
  static override args = { tag: Args.string({ description: `image tag, e.g. ${REPO}:0123456789ab (default: the current one)` }) };

  async run() {
    const { args } = await this.parse(BuilderRm);
    const tag = args.tag ? (args.tag.includes(':') ? args.tag : `${REPO}:${args.tag}`) : builderTag();
    await removeBuilder(await connectEngine(), tag);
    this.log(`removed ${tag}`);
  }
}
