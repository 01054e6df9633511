// Every user-facing error in one place, so the wording stays consistent.
import { constants } from 'node:os';
import { join } from 'node:path';
import { MvError } from './errors';
import { cacheRoot } from './cache-root';

const aptLine = (pkgs: string[]) => `apt-get install -y ${pkgs.join(' ')}`;
/** A directory of the cache, as this run has it ($XDG_CACHE_HOME/mv-image, default ~/.cache/mv-image). */
const cacheDir = (...p: string[]) => join(cacheRoot(), ...p);
/** A value from a manifest or a package, quoted so that no character of it can break the line. */
const q = (s: string) => JSON.stringify(s);

export const msg = {
  // the CLI itself (src/lib/base-command.ts): what oclif's parser rejects, and a bug under --json
  usage: (command: string, problem: string) => new MvError('usage', problem, `see 'mv-image ${command} --help'`, 2),
  unknownCommand: (words: string) =>
    new MvError(
      'usage',
      `there is no command "${words}"`,
      "'mv-image --help' lists the commands, 'mv-image COMMAND --help' their arguments",
      2,
    ),
  internal: (problem: string) =>
    new MvError('internal', problem, 'this is a bug in mv-image: report it with the stack trace printed on stderr'),
  noPackageDir: (dir: string) =>
    new MvError(
      'package',
      `package directory ${dir} does not exist`,
      'pass the path of a directory that holds mv-image.json or a Makefile',
    ),
  notADirectory: (dir: string) => new MvError('package', `${dir} is not a directory`, 'pass the package directory, not a file'),
  manifestJson: (file: string, reason: string) =>
    new MvError('manifest', `${file} is not valid JSON (${reason})`, 'correct the JSON syntax'),
  manifestUnknownField: (file: string, field: string) =>
    new MvError(
      'manifest',
      `${file}: unknown field "${field}"`,
      'remove it or check its spelling against the manifest reference in README.md',
    ),
  manifestInvalid: (file: string, where: string, reason: string) =>
    new MvError('manifest', `${file}: ${where} ${reason}`, 'see the manifest reference in README.md'),
  noBuildCommand: (dir: string) =>
    new MvError(
      'package',
      `${dir} has no Makefile and its manifest names no "build" command`,
      'add a Makefile, or set "build" in mv-image.json',
    ),
  unknownOverride: (name: string, known: string[]) =>
    new MvError(
      'manifest',
      `unknown override "${name}" in "overrides" (known: ${known.join(', ')})`,
      'remove it or pick a name that mv-cc --mv-list-overrides prints',
    ),
  buildFailed: (cmd: string, status: number | null, output: string) =>
    new MvError('package', `build command "${cmd}" failed with status ${status}`, 'fix the build errors shown above', 1, output),
  entryMissing: (path: string) =>
    new MvError(
      'package',
      `entry binary ${path} was not produced by the build`,
      'set "entry" in mv-image.json to the program the build makes',
    ),
  entryNotElf: (path: string, why: string) =>
    new MvError(
      'package',
      `entry binary ${path} is not an x86-64 ELF executable (${why})`,
      'point "entry" at a compiled x86-64 Linux program, not a script or a foreign binary',
    ),
  libraryMissing: (lib: string, from: string) =>
    new MvError(
      'package',
      `shared library ${lib} needed by ${from} was not found`,
      'install the library on the build host or link the program statically',
    ),
  // Package files (src/lib/pkgfiles.ts): `field` names the manifest field, `where` the base directory.
  pathMissing: (field: string, src: string, where: string) =>
    new MvError('package', `${field} ${q(src)} does not exist in ${where}`, `fix the path in mv-image.json (it is relative to ${where})`),
  pathOutside: (field: string, src: string, real: string, where: string) =>
    new MvError(
      'package',
      `${field} ${q(src)} resolves to ${q(real)}, outside ${where}`,
      `only files inside ${where} go into the image: copy the file into it (a symlink must stay inside it too)`,
    ),
  symlinkLoop: (field: string, src: string) =>
    new MvError('package', `${field} ${q(src)} is a symlink loop`, 'replace the symlink with the file it should point at'),
  fileSpecial: (field: string, src: string, kind: string) =>
    new MvError(
      'package',
      `${field} ${q(src)} is ${kind}`,
      'only regular files and directories go into the image: remove it or list another path',
    ),
  fileTooLarge: (field: string, src: string, size: number) =>
    new MvError(
      'package',
      `${field} ${q(src)} is ${(size / 2 ** 30).toFixed(1)} GiB, over the 2 GiB a file in the initramfs may have`,
      'leave it out of the image, or split it',
    ),
  dirTooLarge: (field: string, src: string, why: string) =>
    new MvError(
      'package',
      `${field} ${q(src)} is too large for the image: ${why}`,
      'list the subdirectories the program needs instead of the whole tree',
    ),
  destInvalid: (field: string, dest: string, why: string) =>
    new MvError('manifest', `${field} ${q(dest)} is not a valid destination: ${why}`, 'use an absolute path such as /app/data/file.txt'),
  treeSpecialFile: (path: string, kind: string) =>
    new MvError(
      'package',
      `${q(path)} is ${kind}`,
      'a package holds regular files, directories and symlinks only: remove it from the package directory',
    ),
  imageCollision: (dest: string, field: string, owner: string) =>
    new MvError(
      'package',
      `${field} would replace ${dest} in the image, which is ${owner}`,
      'choose another "dest" (the program\'s own files usually go under /app)',
    ),
  entryOutside: (entry: string) =>
    new MvError(
      'manifest',
      `entry ${q(entry)} leaves the build tree`,
      'name the program the build makes, relative to the tree the build runs in, without ".." or a leading "/"',
    ),
  buildAreaUnsafe: (dir: string, why: string) =>
    new MvError(
      'package',
      `the build area ${dir} is not private: ${why}`,
      `remove ${dir} (or set TMPDIR to a directory only you can write) and build again`,
    ),
  destDuplicate: (dest: string, a: string, b: string) =>
    new MvError('package', `${a} and ${b} both put a file at ${dest} in the image`, 'give each file its own "dest"'),
  toolMissing: (tool: string, pkg: string) =>
    new MvError('host', `${tool} is not installed`, `run: ${aptLine([pkg])} (or see 'mv-image doctor')`),
  aptDownload: (pkg: string, output: string) =>
    new MvError(
      'kernel',
      `apt-get download ${pkg} failed: ${output.trim().split('\n').pop() ?? ''}`,
      "run 'apt-get update' and check that Debian's package archive is reachable",
    ),
  /** `dir`: the cache directory that holds what is broken (default: the downloaded packages). */
  kernelPackageBroken: (deb: string, why: string, dir = cacheDir('debs')) =>
    new MvError(
      'kernel',
      `${deb} is not a usable kernel package (${why})`,
      `delete ${dir} and build again; if it persists, the mirror serves a damaged file`,
    ),
  // Stage "install": Debian binary packages for the image (src/stages/install.ts).
  installNotInArchive: (name: string, neededBy: string) =>
    new MvError(
      'install',
      `Debian package ${q(name)} (${neededBy}) is not in the apt lists, or is purely virtual`,
      "run 'apt-get update', or name a real package ('apt-cache policy NAME' shows whether the archive has it)",
    ),
  installApt: (problem: string) =>
    new MvError('install', problem, "run 'apt-get update' and check that Debian's package archive is reachable"),
  installBroken: (pkg: string, why: string) =>
    new MvError(
      'install',
      `Debian package ${q(pkg)} cannot be unpacked into the image: ${why}`,
      `remove it from "install", or delete ${cacheDir('debs')} and build again`,
    ),
  installEntryMissing: (entry: string, pkgs: string[]) =>
    new MvError(
      'install',
      `entry ${q(entry)} is not a regular file the installed packages provide (${pkgs.join(', ')})`,
      'name a program one of them ships (dpkg -L NAME lists its files), or add its package to "install"',
    ),
  installCollision: (dest: string, origin: string, pkg: string) =>
    new MvError(
      'package',
      `${origin} would replace ${dest} in the image, which the Debian package ${q(pkg)} provides`,
      'choose another "dest"',
    ),
  moduleMissing: (name: string, version: string) =>
    new MvError('kernel', `kernel module ${name} is not in Debian's ${version} kernel`, 'check the module name'),
  isoFailed: (output: string) =>
    new MvError(
      'iso',
      `grub-mkrescue failed: ${output.trim().split('\n').slice(-3).join(' / ')}`,
      "run 'mv-image doctor' to check grub-pc-bin, grub-efi-amd64-bin, xorriso and mtools",
    ),
  diskFull: (path: string) =>
    new MvError(
      'output',
      `no space left on the device while writing ${path}`,
      'free disk space (or set XDG_CACHE_HOME / -o on a larger disk) and build again',
    ),
  imageMissing: (path: string) =>
    new MvError('run', `image ${path} does not exist`, "build it first with 'mv-image build', or check the path"),
  notNetboot: (dir: string) =>
    new MvError(
      'run',
      `${dir} is a directory without boot.ipxe, not a netboot bundle`,
      "pass an ISO, or a directory made by 'mv-image build --format netboot'",
    ),
  bootTimeout: (seconds: number, log: string) =>
    new MvError(
      'run',
      `the guest printed no MV-EXIT line within ${seconds} s (serial log: ${log})`,
      'raise --timeout, or read the serial log for where the boot stopped',
      124,
    ),
  kernelPanic: (log: string) =>
    new MvError(
      'run',
      `the guest kernel panicked (serial log: ${log})`,
      'read the serial log; a panic before init usually means a missing module or a bad command line',
      125,
    ),
  qemuFailed: (status: number | null, reason: string, log: string, lastLines: string) =>
    new MvError(
      'run',
      `QEMU exited with status ${status} before the program finished: ${reason} (serial log: ${log})`,
      "read the serial log (its last lines are above); run 'mv-image doctor' and check the QEMU options",
      126,
      lastLines,
    ),
  stoppedFromHost: () =>
    new MvError(
      'run',
      'the VM was stopped from the host (Ctrl-A x) before the program finished',
      'let the program end, or press Ctrl-C to send it SIGINT',
      130,
    ),
  serialFifo: (path: string, why: string) =>
    new MvError('run', `cannot make the serial input FIFO ${path}: ${why}`, 'check that TMPDIR is a writable local directory'),
  ovmfMissing: () => new MvError('run', 'OVMF firmware (for --uefi) is not installed', 'run: apt-get install -y ovmf'),
  toolchainFailed: (step: string, output: string) =>
    new MvError(
      'toolchain',
      `building the Multiverse toolchain failed at "${step}"`,
      'fix the nautilus/ or hvm/ build errors shown above (make -C nautilus && make -C hvm)',
      1,
      output,
    ),
  inspectMissing: (path: string) =>
    new MvError('inspect', `${path} does not exist or cannot be read`, 'pass the path of an ISO built by mv-image, or of a program'),
  notAnImage: (path: string, why: string) =>
    new MvError('inspect', `${path} cannot be inspected: ${why}`, 'pass an ISO built by mv-image, or an x86-64 ELF program'),
  // mv-image run --gdb / --profile (src/debug.ts, src/harness/control.ts)
  badGdbPort: (value: string) =>
    new MvError('run', `--gdb ${q(value)} is not a TCP port from 1 to 65535`, 'give a port number, e.g. --gdb 1234'),
  gdbPortBusy: (port: number, why: string) =>
    new MvError(
      'run',
      `cannot listen for gdb on 127.0.0.1:${port} (${why === 'EADDRINUSE' ? 'the port is in use' : why})`,
      `pick another --gdb port, or stop what listens there (ss -ltnp 'sport = :${port}')`,
    ),
  badProfileHz: (value: string) =>
    new MvError(
      'run',
      `--profile-hz ${q(value)} is not a rate from 1 to 10000 samples per second`,
      'give a whole number, e.g. --profile-hz 999 (the default)',
    ),
  profileHzAlone: () =>
    new MvError('run', '--profile-hz needs --profile DIR', 'add --profile DIR (where profile.folded and profile.svg are written)'),
  profileDirUnusable: (dir: string, why: string) =>
    new MvError(
      'run',
      `cannot write the profile into ${dir}: ${why}`,
      'give --profile a directory you can write (it is made if it does not exist)',
    ),
  noControlChannel: (image: string) =>
    new MvError(
      'run',
      `the init of ${image} did not ask for --gdb/--profile settings, so the program ran without them`,
      "build the image again with this mv-image ('mv-image build'): images built before run --gdb/--profile lack the control channel",
    ),
  gdbNotBridged: (took: string) =>
    new MvError(
      'run',
      `init could not open the gdb channel in the guest (it took only: ${took || 'nothing'}), so the program ran without the debugger`,
      'read the console above; a guest kernel without the 8250 PCI serial driver cannot carry gdb',
    ),
  profileNotBack: (why: string) =>
    new MvError(
      'run',
      `no profile came back: ${why}`,
      'check the console above for MV-KVM present and MV-HRT (MV_PROFILE samples only code that runs in the HRT), and for a "mv: profile" line',
    ),
  badAccel: (value: string) => new MvError('run', `unknown --accel ${value}`, 'use one of: auto, kvm, tcg'),
  unknownSourcePackage: (pkg: string) =>
    new MvError(
      'source',
      `Debian has no source package named "${pkg}"`,
      'check the name in "source": {"debian": ...} (apt-cache showsrc NAME, or https://packages.debian.org)',
    ),
  noDebSrcIndex: (why: string) =>
    new MvError(
      'source',
      `no deb-src index is available (${why})`,
      "check that the host's /etc/apt/sources.list.d entries point at a reachable Debian mirror; mv-image derives its private deb-src list from them",
    ),
  sourceChecksum: (file: string, why: string) =>
    new MvError(
      'source',
      `${file} does not match the checksum in the .dsc: ${why}`,
      `delete ${cacheDir('apt-src', 'downloads')} and build again; if it persists, the mirror serves a damaged file`,
    ),
  sourceDownload: (pkg: string, why: string) =>
    new MvError(
      'source',
      `apt-get source could not download ${pkg}: ${why}`,
      'the mirror lists the package but does not serve its files; try again later or point /etc/apt/sources.list.d at another mirror',
    ),
  sourceUnpack: (dsc: string, output: string) =>
    new MvError(
      'source',
      `dpkg-source -x ${dsc} failed: ${output.trim().split('\n').pop() ?? ''}`,
      `run it by hand to see why; delete ${cacheDir('apt-src', 'downloads')} to fetch the files again`,
    ),
  engineUnreachable: (where: string) =>
    new MvError(
      'builder',
      `no Docker engine answers at ${where}`,
      'start one (dockerd, or systemctl start docker), point DOCKER_HOST at it, or build with --builder host',
    ),
  enginePermission: (where: string) =>
    new MvError(
      'builder',
      `permission denied on the Docker socket ${where}`,
      'add your user to the docker group and log in again, run as root, or build with --builder host',
    ),
  builderMissing: (tag: string) =>
    new MvError(
      'builder',
      `builder image ${tag} does not exist`,
      "run 'mv-image builder create' (no registry needed), or build with --builder host",
    ),
  builderCreateFailed: (step: string, output: string) =>
    new MvError(
      'builder',
      `${step} failed: ${output.trim().split('\n').slice(-3).join(' / ')}`,
      "check that the Debian mirror in /etc/apt/sources.list.d is reachable, then run 'mv-image builder create' again",
    ),
  builderInUse: (tag: string, why: string) =>
    new MvError('builder', `cannot remove ${tag}: ${why}`, 'remove the containers that use it first (docker ps -a)'),
  builderUnknown: (tag: string) =>
    new MvError('builder', `there is no builder image ${tag}`, "'mv-image builder list' shows the builder images"),
  // tuned-kernel: the tuned kernel stage (src/stages/tuned-kernel.ts, kernel-configs/)
  fragmentMissing: (name: string, known: string[]) =>
    new MvError('tuned-kernel', `no Kconfig fragment named "${name}" in kernel-configs/`, `use some of: ${known.join(', ')}`),
  kconfigSyntax: (fragment: string, line: number, text: string) =>
    new MvError(
      'tuned-kernel',
      `kernel-configs/${fragment}:${line}: "${text}" is neither CONFIG_X=value nor "# CONFIG_X is not set"`,
      'fix the line, or turn it into a comment',
    ),
  kconfigConflict: (option: string, a: string, va: string, b: string, vb: string) =>
    new MvError(
      'tuned-kernel',
      `${option} is ${va} in kernel-configs/${a} but ${vb} in kernel-configs/${b}`,
      'set it in one fragment only, or make the fragments agree',
    ),
  kconfigUnknown: (option: string, fragment: string, source: string) =>
    new MvError(
      'tuned-kernel',
      `${option} (kernel-configs/${fragment}) is not a Kconfig option of ${source}`,
      'check its spelling, or remove it from the fragment',
    ),
  kconfigNotApplied: (option: string, fragment: string, want: string, got: string) =>
    new MvError(
      'tuned-kernel',
      `${option}=${want} (kernel-configs/${fragment}) did not survive make olddefconfig: it ended up ${got}`,
      'add the options it depends on (see its "depends on" in the Kconfig file) to a fragment, or remove it',
    ),
  kernelBuildFailed: (step: string, output: string) =>
    new MvError(
      'tuned-kernel',
      `building the tuned kernel failed at "${step}"`,
      'read the compiler output above; run `mv-image doctor` to check bc, bison, flex, libelf-dev and libssl-dev',
      1,
      output.trim().split('\n').slice(-30).join('\n'),
    ),
  // hostile input (issue 14): manifest rules, the kernel command line, damaged ELF files and images
  manifestRule: (file: string, where: string, problem: string, fix: string) => new MvError('manifest', `${file}: ${where} ${problem}`, fix),
  noDefaultName: (dir: string) =>
    new MvError(
      'manifest',
      `no image name can be made from the directory name "${dir}"`,
      'set "name" in mv-image.json (letters, digits, ".", "_" and "-", starting with a letter or digit)',
    ),
  cmdlineTooLong: (length: number, max: number) =>
    new MvError(
      'manifest',
      `the kernel command line would be ${length} characters, over the ${max} that fit beside what the boot loader adds (the kernel keeps 2048 bytes)`,
      'shorten "cmdline" or "hrt.cpus" in mv-image.json',
    ),
  grubCfgInvalid: (output: string) =>
    new MvError(
      'iso',
      `grub-script-check rejects the generated grub.cfg: ${output.trim().split('\n').pop() ?? ''}`,
      'this is a bug in mv-image: report it with the "cmdline" of mv-image.json',
    ),
  elfDamaged: (what: string, why: string) =>
    new MvError('package', `${what} is a damaged ELF file: ${why}`, 'rebuild it; a file cut short or altered after linking cannot be used'),
  imageDamaged: (path: string, why: string) =>
    new MvError('inspect', `${path} is damaged: ${why}`, "rebuild it with 'mv-image build'; a copy cut short or altered cannot be read"),
  notBootable: (path: string, why: string) =>
    new MvError(
      'run',
      `${path} cannot be booted: ${why}`,
      "pass an ISO or a netboot directory made by 'mv-image build' (build it again if it was cut short)",
    ),
  // hostile packages (issue 14): signals, the docker builder's confinement and limits, what a
  // builder container gives back, the builder's own file system
  interrupted: (stage: string, sig: NodeJS.Signals) =>
    stage === 'serve' || stage === 'cluster'
      ? new MvError(
          stage,
          `stopped by ${sig}: ${stage === 'serve' ? 'dnsmasq was stopped and its run directory removed' : 'every node, serve, dnsmasq, the network namespace and its taps were stopped and removed'}`,
          'run it again',
          128 + constants.signals[sig],
        )
      : new MvError(
          stage,
          `stopped by ${sig}: the build's commands were ended and its temporary files removed`,
          'run the build again',
          128 + constants.signals[sig],
        ),
  limitTimeout: (stage: string, what: string, seconds: number, output: string) =>
    new MvError(
      stage,
      `${what} ran longer than the builder's time limit of ${seconds} s and was stopped`,
      'raise "builderLimits": {"timeoutS": N} in mv-image.json, or find out why it hangs',
      1,
      output,
    ),
  limitMemory: (stage: string, what: string, mib: number, output: string) =>
    new MvError(
      stage,
      `${what} ran out of memory: the builder's limit is ${mib} MiB`,
      'raise "builderLimits": {"memoryMiB": N} in mv-image.json, or lower the build\'s parallelism',
      1,
      output,
    ),
  limitPids: (stage: string, what: string, pids: number, output: string) =>
    new MvError(
      stage,
      `${what} hit the builder's limit of ${pids} processes and threads`,
      'raise "builderLimits": {"pids": N} in mv-image.json, or lower the build\'s parallelism',
      1,
      output,
    ),
  archiveUnsafe: (entry: string, why: string) =>
    new MvError(
      'builder',
      `the builder container gave back an entry ${q(entry)} that ${why}; it was not unpacked`,
      'make the build write only inside its own directory (symlinks it makes stay symlinks, and are never written through)',
    ),
  builderRootFailed: (tag: string, why: string) =>
    new MvError(
      'builder',
      `cannot read the file system of ${tag}: ${why}`,
      "remove the builder image with 'mv-image builder rm' and make it again with 'mv-image builder create'",
    ),
  // mv-image flamegraph (src/lib/flamegraph.ts, src/commands/flamegraph.ts)
  profileMissing: (path: string) => new MvError('flamegraph', `${path} does not exist`, 'give the file MV_PROFILE wrote'),
  profileNotFile: (path: string) => new MvError('flamegraph', `${path} is not a regular file`, 'give the file MV_PROFILE wrote'),
  profileTooLarge: (what: string, maxMiB: number) =>
    new MvError('flamegraph', `${what} is larger than ${maxMiB} MiB`, 'profile a shorter run, or at a lower MV_PROFILE_HZ'),
  profileLine: (line: number, what: string) =>
    new MvError(
      'flamegraph',
      `line ${line} of ${what} is not a folded stack ("frame;frame;... count")`,
      'give the file MV_PROFILE wrote, or another folded-stack file',
    ),
  profileEmpty: (what: string) =>
    new MvError('flamegraph', `${what} holds no samples`, 'profile a run that lasts longer, or at a higher MV_PROFILE_HZ'),
  flamegraphWrite: (out: string, why: string) =>
    new MvError('flamegraph', `cannot write ${out} (${why})`, 'give -o a path in a writable directory'),
  flamegraphDraw: (why: string) =>
    new MvError(
      'flamegraph',
      `drawing the flame graph failed: ${why}`,
      'draw fewer stacks (a shorter run, or a lower MV_PROFILE_HZ); if the profile is small, this is a bug in mv-image: report it',
    ),
  // cluster boot (issue 18): mv-image serve, cluster run, node reports (src/serve/, src/cluster/)
  captureToolMissing: (path: string, builder: string) =>
    new MvError(
      'initramfs',
      `${path} (util-linux's script, which keeps a node's console output for its report) is missing in ${builder}`,
      `install bsdutils in ${builder === 'the host' ? 'the host: apt-get install -y bsdutils' : "the builder image and make it again ('mv-image builder create')"}`,
    ),
  notRoot: (stage: string, why: string) => new MvError(stage, `must run as root: ${why}`, 'run it as root (sudo mv-image ...)'),
  serveNotImage: (path: string, why: string) =>
    new MvError(
      'serve',
      `${path} is neither a netboot directory nor an ISO: ${why}`,
      "pass an ISO or a directory made by 'mv-image build --format netboot'",
    ),
  serveImageCmdline: (path: string, why: string) =>
    new MvError(
      'serve',
      `the kernel command line in ${path} cannot be passed on through iPXE: it ${why}`,
      "rebuild the image with 'mv-image build'",
    ),
  noInterface: (name: string, known: string[]) =>
    new MvError(
      'serve',
      `there is no network interface ${q(name)}`,
      `pick one of: ${known.join(', ') || '(none)'} ('ip -br link' lists them)`,
    ),
  interfaceNeeded: (known: string[]) =>
    new MvError(
      'serve',
      `no --interface given and ${known.length ? `${known.length} interfaces could serve` : 'no interface has an IPv4 address'}`,
      `name the interface the nodes are on: --interface ${known[0] ?? 'IF'}${known.length > 1 ? ` (one of ${known.join(', ')})` : ''}`,
    ),
  interfaceNoAddress: (name: string) =>
    new MvError(
      'serve',
      `interface ${q(name)} has no IPv4 address`,
      `give it one on the nodes' network (ip addr add ADDR/PREFIX dev ${name}) and bring it up`,
    ),
  badDhcpRange: (value: string, why: string) =>
    new MvError(
      'serve',
      `--dhcp-range ${q(value)} ${why}`,
      "give two IPv4 addresses of the interface's subnet, first <= last, e.g. --dhcp-range 10.77.0.100,10.77.0.199",
    ),
  badMac: (value: string) =>
    new MvError('serve', `--mac ${q(value)} is not a MAC address`, 'write it as six hex pairs separated by colons, e.g. 52:54:00:12:34:56'),
  portInUse: (port: number, address: string) =>
    new MvError('serve', `port ${port} on ${address} is already in use`, 'stop what listens there, or pick another --port'),
  dnsmasqMissing: () =>
    new MvError(
      'serve',
      'dnsmasq is not installed',
      'run: apt-get install -y dnsmasq-base (the binary only: no system service is started)',
    ),
  ipxeMissing: (file: string) => new MvError('serve', `the iPXE boot file ${file} is missing`, 'run: apt-get install -y ipxe'),
  dnsmasqFailed: (why: string) =>
    new MvError(
      'serve',
      `dnsmasq did not start: ${why}`,
      'another DHCP server may already be bound to the interface (use --proxy-dhcp beside a site DHCP server), or see the line above',
    ),
  nodesMissing: (missing: number, expected: number, timeout: number) =>
    new MvError(
      'serve',
      `${missing} of ${expected} expected nodes did not report within ${timeout} s`,
      "check the nodes' consoles: firmware set to network boot (PXE) on this network, and the server reachable from them",
    ),
  nodesFailed: (failed: number, total: number) =>
    new MvError(
      'serve',
      `${failed} of ${total} nodes failed (see the table above)`,
      "read each failed node's console tail (--json has it)",
    ),
  clusterFailed: (failed: number, total: number) =>
    new MvError(
      'cluster',
      `${failed} of ${total} nodes failed (see the table above)`,
      "read the failed nodes' serial logs, kept at the paths above",
    ),
  clusterTool: (tool: string, pkg: string) => new MvError('cluster', `${tool} is not installed`, `run: ${aptLine([pkg])}`),
  netnsFailed: (step: string, output: string) =>
    new MvError(
      'cluster',
      `${step} failed: ${output.trim().split('\n').pop() ?? ''}`,
      'cluster run needs root and a kernel with network namespaces, bridges and tun/tap (modprobe tun bridge)',
    ),
  badNodeCount: (nodes: number, uefi: number) =>
    new MvError('cluster', `--uefi-nodes ${uefi} is more than --nodes ${nodes}`, 'give --uefi-nodes at most --nodes'),
};
