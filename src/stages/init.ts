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
}

/** The environment every program starts with, before the manifest's own variables. */
export const BASE_ENV = { PATH: '/bin:/sbin:/usr/bin:/usr/sbin', HOME: '/root', TERM: 'linux' };

export function renderInit(o: InitOptions): string {
  const env = Object.entries({ ...BASE_ENV, ...o.env }).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
  return render('init.ejs', { ...o, env, command: shJoin(o.argv), cwd: shq(o.cwd) });
}
