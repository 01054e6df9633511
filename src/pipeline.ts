// The image pipeline, as a list of named stages: toolchain -> install (only with the manifest's
// "install": Debian binary packages) -> package -> kernel -> init -> initramfs, then the output
// format (src/formats.ts) writes the image, whole or not at all.
import { readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { sha256File, sweepLeftovers } from './lib/cache';
import { KERNEL_LINE_MAX, parseCmdline } from './lib/cmdline';
import { fileIn } from './lib/fsview';
import { cpuProblem, MAX_CPU } from './lib/manifest-rules';
import { msg } from './lib/messages';
import { IMAGE_INFO_PATH } from './inspect';
import { loadManifest, Manifest } from './lib/manifest';
import { imagesDir } from './lib/paths';
import { Progress, StageTiming } from './lib/progress';
import { captureFiles, MVRUN, mvrunFiles, renderInit } from './stages/init';
import { BUSYBOX, initramfsStage } from './stages/initramfs';
import { FORMATS, FormatName } from './formats';
import { KernelArtifact, kernelStage } from './stages/kernel';
import { tunedKernelStage } from './stages/tuned-kernel';
import { toolchainStage } from './stages/toolchain';
import { APP_DIR, checkPackageDir, ImageFile, PackageArtifact, packageStage } from './stages/package';
import { InstallArtifact, installStage } from './stages/install';
import { BuilderChoice, runnerToolchain, selectRunner, viewFor } from './builder/runner';

/** The ROS kernel flavours (manifest "kernel", build --kernel). Each gives the same artefact shape,
 *  so the stages after it do not care which one ran. */
export const KERNEL_STAGES: Record<Manifest['kernel'], (p: Progress) => Promise<KernelArtifact>> = {
  debian: (p) => kernelStage(p),
  tuned: (p) => tunedKernelStage(p),
};

export interface BuildOptions {
  packageDir: string;
  output?: string;
  progress: Progress;
  /** Where the package and iso stages run; overrides the manifest's "builder". */
  builder?: BuilderChoice;
  /** Defaults to $SOURCE_DATE_EPOCH, else 0. */
  sourceDateEpoch?: number;
  /** The output format (default iso). */
  format?: FormatName;
  /** Overrides the manifest's "kernel". */
  kernel?: Manifest['kernel'];
  /** Overrides manifest fields, e.g. another args/env for the same build (bench/lua.ts). */
  overrides?: Partial<Manifest>;
}

export interface BuildResult {
  image: string;
  format: FormatName;
  name: string;
  /** Bytes: the file, or every file of a directory format. */
  size: number;
  /** Of the file; null for a directory format. */
  sha256: string | null;
  kernel: string;
  cmdline: string;
  stages: StageTiming[];
}

/** The kernel command line: console setup lives in grub.cfg, the rest comes from here.
 *  Explicit HRT CPUs are taken away from the ROS scheduler, the tick and RCU callbacks. The
 *  manifest's parameters come last, in their canonical form (src/lib/cmdline.ts), which each
 *  format writes so that the kernel gets this line exactly. */
export function kernelCmdline(m: Manifest): string {
  const cpus = m.hrt.cpus;
  const isolate = cpus ? [`isolcpus=${cpus}`, `nohz_full=${cpus}`, `rcu_nocbs=${cpus}`] : [];
  const own = parseCmdline(m.cmdline);
  if (!Array.isArray(own)) throw msg.manifestRule('mv-image.json', 'cmdline', own.why, own.fix);
  const line = ['panic=10', 'quiet', ...isolate, ...own].join(' ');
  if (line.length > KERNEL_LINE_MAX) throw msg.cmdlineTooLong(line.length, KERNEL_LINE_MAX);
  return line;
}

export function sourceDateEpoch(): number {
  const v = process.env.SOURCE_DATE_EPOCH;
  return v && /^\d+$/.test(v) ? Number(v) : 0;
}

export async function buildImage(o: BuildOptions): Promise<BuildResult> {
  const { progress } = o;
  checkPackageDir(o.packageDir);
  const manifest = { ...loadManifest(o.packageDir), ...o.overrides };
  const epoch = o.sourceDateEpoch ?? sourceDateEpoch();
  const format = o.format ?? 'iso';
  const output = resolve(o.output ?? join(imagesDir(), FORMATS[format].defaultOutput(manifest.name)));
  // What the manifest's rules cannot know before now: the kernel that --kernel picks.
  const flavour = o.kernel ?? manifest.kernel;
  const cpus = cpuProblem(manifest.hrt.cpus, flavour);
  if (cpus)
    throw msg.manifestRule(
      join(o.packageDir, 'mv-image.json'),
      'hrt.cpus',
      cpus,
      `name CPUs from 1 to ${MAX_CPU[flavour]}, or build with another --kernel`,
    );
  const cmdline = kernelCmdline(manifest);
  // What killed or crashed builds left (temp dirs, locks, scratch dirs, containers) goes first.
  sweepLeftovers();
  const runner = await selectRunner(o.builder ?? manifest.builder, progress, manifest.builderLimits);
  // A docker build takes busybox, like everything else in the image, from the builder image.
  const busybox = runner.kind === 'host' ? undefined : fileIn(viewFor(runner, []), BUSYBOX);
  if (runner.kind !== 'host' && !busybox) throw msg.builderRootFailed(runner.id, `it has no ${BUSYBOX}`);

  const toolchain = await progress.stage('toolchain', () => toolchainStage(progress, runner));
  const installed = manifest.install
    ? await progress.stage('install', () => installStage(progress, manifest.install!.debian, manifest.install!.exclude))
    : undefined;
  const pkg = await progress.stage('package', () =>
    packageStage(progress, o.packageDir, manifest, runnerToolchain(toolchain, runner), runner, installed),
  );
  const kernel = await progress.stage('kernel', () => KERNEL_STAGES[flavour](progress));
  const files = imageFiles(pkg, installed);
  const mvrun = manifest.mvrun ? mvrunFiles(toolchain.prefix, files.all, viewFor(runner, [toolchain.prefix])) : undefined;
  // A program an installed package provides runs at its own path, in /app when the package put files there.
  const cwd =
    !installed || !isAbsolute(manifest.entry)
      ? dirname(pkg.program.dest)
      : files.all.some((f) => f.dest.startsWith(`${APP_DIR}/`))
        ? APP_DIR
        : '/';
  const init = renderInit({
    hostname: manifest.name,
    modules: kernel.modules,
    argv: [...(mvrun ? [MVRUN.dest] : []), pkg.program.dest, ...manifest.args],
    env: manifest.env,
    cwd,
    onExit: manifest.onExit,
    hrtCpus: manifest.hrt.cpus,
    requireHrt: manifest.hrt.require,
  });
  // "mvrun" only when set, so images without it keep their bytes.
  const info = { name: manifest.name, program: pkg.program.dest, args: manifest.args, ...(manifest.mvrun ? { mvrun: true } : {}) };
  const capture = captureFiles(
    [...files.all, ...(mvrun?.libs ?? [])],
    viewFor(runner, []),
    runner.kind === 'host' ? 'the host' : runner.id,
  );
  const initrd = await progress.stage('initramfs', () =>
    initramfsStage({
      kernel,
      init,
      files: [...files.regular, ...(mvrun?.libs ?? []), ...capture.libs],
      links: installed?.links,
      sourceDateEpoch: epoch,
      initTools: toolchain.initTools,
      busybox,
      extra: [
        { dest: `/${IMAGE_INFO_PATH}`, data: Buffer.from(JSON.stringify(info, null, 2) + '\n'), mode: 0o644 },
        capture.tool,
        ...(mvrun?.tools ?? []),
      ],
    }),
  );
  await FORMATS[format].write(
    { name: manifest.name, vmlinuz: kernel.vmlinuz, initrd: initrd.path, cmdline, sourceDateEpoch: epoch, runner, progress },
    output,
  );

  const single = statSync(output).isFile();
  return {
    image: output,
    format,
    name: manifest.name,
    kernel: kernel.version,
    cmdline,
    stages: progress.timings,
    size: single ? statSync(output).size : dirSize(output),
    sha256: single ? sha256File(output) : null,
  };
}

/** The image's files: the program, the package's files and the installed Debian packages'.
 *  A package file may not replace a Debian package's; a library the builder gave yields to the
 *  Debian package's copy at the same path, so that one glibc, Debian's, is in the image. `all`
 *  holds the symlinks too, by path. */
function imageFiles(
  pkg: PackageArtifact,
  installed: InstallArtifact | undefined,
): { regular: ImageFile[]; all: Pick<ImageFile, 'dest'>[] } {
  if (!installed) return { regular: [pkg.program, ...pkg.files], all: [pkg.program, ...pkg.files] };
  const debian = new Map<string, string>([...installed.files, ...installed.links].map((f) => [f.dest, f.origin ?? '']));
  const own = pkg.files.filter((f) => !(debian.has(f.dest) && f.origin?.startsWith('the library ')));
  for (const f of own)
    if (debian.has(f.dest)) throw msg.installCollision(f.dest, f.origin ?? f.dest, debian.get(f.dest)!.replace(/^the Debian package /, ''));
  const regular = [pkg.program, ...own, ...installed.files.filter((f) => f.dest !== pkg.program.dest)];
  return { regular, all: [...regular, ...installed.links] };
}

function dirSize(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}
