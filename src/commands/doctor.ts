import { MvCommand } from '../lib/base-command';
import { hostTools, toolPresent } from '../lib/hosttools';

export default class Doctor extends MvCommand {
  static override summary = 'Check the host tools every stage needs, and print the apt-get line for what is missing';
  static override enableJsonFlag = true;

  async run() {
    await this.parse(Doctor);
    const tools = hostTools().map((t) => ({ ...t, present: toolPresent(t) }));
    const missing = [...new Set(tools.filter((t) => !t.present).map((t) => t.pkg))];
    const install = missing.length ? `apt-get install -y ${missing.join(' ')}` : null;
    if (!this.jsonEnabled()) {
      const w = Math.max(...tools.map((t) => t.tool.length));
      for (const t of tools)
        this.log(`${t.present ? 'ok     ' : 'MISSING'}  ${t.tool.padEnd(w)}  ${t.pkg.padEnd(20)} ${t.stages.join(', ')}`);
      this.log(install ? `\nTo install what is missing:\n  ${install}` : '\nEverything mv-image needs is installed.');
    }
    if (missing.length && !this.jsonEnabled()) process.exitCode = 1;
    return { ok: missing.length === 0, tools, missing, install };
  }
}
