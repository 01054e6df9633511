// Stage "init": renders the ROS init script that runs the program at boot.
import type { Manifest } from '../lib/manifest';
import { shJoin, shq } from '../lib/shell';
import { render } from '../lib/templates';
import type { KernelModule } from './kernel';

export interface InitOptions {
  hostname: string;
  modules: Pick<KernelModule, 'name' | 'imagePath'>[];
  /** The program and its arguments. */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  onExit: Manifest['onExit'];
  /** The manifest's hrt.cpus; empty means all CPUs but 0, decided at boot. */
  hrtCpus?: string;
  /** Fail rather than run natively when KVM is unusable (MV_REQUIRE_HRT=1). */
  requireHrt?: boolean;
}

/** The environment every program starts with, before the manifest's own variables.
 *  MV_ANNOUNCE makes libmv print "MV-HRT vcpus=<n> cpl=<cpl>" when main starts in the HRT. */
export const BASE_ENV = { PATH: '/bin:/sbin:/usr/bin:/usr/sbin', HOME: '/root', TERM: 'linux', MV_ANNOUNCE: '1' };

export function renderInit(o: InitOptions): string {
  const env = Object.entries({ ...BASE_ENV, ...(o.requireHrt ? { MV_REQUIRE_HRT: '1' } : {}), ...o.env }).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
  return render('init.ejs', { hrtCpus: '', requireHrt: false, ...o, hostname: shq(o.hostname), env, command: shJoin(o.argv), cwd: shq(o.cwd) });
}
