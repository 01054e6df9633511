import { Args, Command } from '@oclif/core';
import { connectEngine } from '../../builder/engine';
import { builderTag, removeBuilder, REPO } from '../../builder/image';
import { runCli } from '../../lib/cli';

export default class BuilderRm extends Command {
  static override summary = 'Remove a builder image (default: the one builds use)';
  static override args = { tag: Args.string({ description: `image tag, e.g. ${REPO}:0123456789ab (default: the current one)` }) };

  async run() {
    const { args } = await this.parse(BuilderRm);
    await runCli(this, async () => {
      const tag = args.tag ? (args.tag.includes(':') ? args.tag : `${REPO}:${args.tag}`) : builderTag();
      await removeBuilder(await connectEngine(), tag);
      this.log(`removed ${tag}`);
    });
  }
}
