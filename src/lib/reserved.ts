// The paths of the image that are mv-image's, not the package's: the ROS init and its tools,
// busybox and every applet link init installs at boot, the skeleton, the kernel modules, the
// image's own info file, and the trees that are mounted over at boot (whatever a package put
// there would vanish). A package file may not land on any of them: the last cpio entry would
// win, replacing init or the program silently (and bypassing the checks made on the entry).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { posix } from 'node:path';

/** Mounted at boot by init (templates/init.ejs): proc, sysfs, devtmpfs (+ devpts, shm), tmpfs. */
const MOUNTED = ['/proc', '/sys', '/dev', '/tmp', '/run'];

let applets: Map<string, string> | undefined;

/** Where `busybox --install -s` puts its applet links (init and its shell call them by name). */
function appletLinks(busybox: string): Map<string, string> {
  if (!applets) {
    applets = new Map();
    const list = existsSync(busybox) ? execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }) : '';
    for (const p of list.split('\n').filter(Boolean)) applets.set(`/${p}`, `busybox's ${posix.basename(p)} applet (init links it at boot)`);
  }
  return applets;
}

export interface Owned {
  paths: Map<string, string>;
  busybox: string;
}

/** Why `dest` is not the package's to fill, or undefined when it is free. `owned` maps the
 *  image paths mv-image writes itself to what they are. */
export function reservedReason(dest: string, owned: Owned): string | undefined {
  const own = owned.paths.get(dest);
  if (own) return own;
  const mount = MOUNTED.find((m) => dest === m || dest.startsWith(m + '/'));
  if (mount) return `under ${mount}, which init mounts over at boot`;
  if (dest.startsWith('/lib/modules/')) return 'in the kernel modules tree';
  return appletLinks(owned.busybox).get(dest);
}
