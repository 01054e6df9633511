// The package manifest, mv-image.json: schema, defaults and validation.
// Every field is optional, so a directory with a Makefile builds with no manifest at all.
import Ajv, { ErrorObject } from 'ajv';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkManifestRules, defaultName, NAME_MAX, NAME_PATTERN } from './manifest-rules';
import { msg } from './messages';

export const ON_EXIT = ['poweroff', 'shell', 'reboot'] as const;
/** Debian Policy 5.6.1: lower case letters, digits, "+", "-" and ".", at least two characters,
 *  starting with a letter or digit. */
export const DEBIAN_PACKAGE_PATTERN = '^[a-z0-9][a-z0-9+.-]+$';
export const BUILDERS = ['host', 'docker', 'auto'] as const;
export const KERNELS = ['debian', 'tuned'] as const;

/** An extra file (or directory tree) for the image. `from` says where `src` is: the package
 *  directory as given ("package"), or the tree the build ran in, after the build ("build"). */
export interface FileEntry { src: string; dest: string; from: 'package' | 'build' }

export interface Manifest {
  name: string;
  build: string | null;
  entry: string;
  args: string[];
  env: Record<string, string>;
  files: FileEntry[];
  cmdline: string;
  kernel: (typeof KERNELS)[number];
  onExit: (typeof ON_EXIT)[number];
  builder: (typeof BUILDERS)[number];
  hrt: { require: boolean; cpus: string };
  /** An upstream source to build instead of the package directory's own files. */
  source: { debian: string } | null;
  /** Functions served HRT-natively (mv-cc --mv-override=NAME; hvm/README.md "Overrides"). */
  overrides: string[];
  /** Limits of a docker builder container (README, "Builders"); the host builder has none. */
  builderLimits: BuilderLimits;
  /** Debian binary packages unpacked into the image with their dependencies (src/stages/install.ts). */
  install: { debian: string[] } | null;
  /** Run the entry under mvrun (main of an unmodified program in the HRT; hvm/README.md "mvrun"). */
  mvrun: boolean;
}

export interface BuilderLimits { memoryMiB: number; pids: number; timeoutS: number }
export const DEFAULT_BUILDER_LIMITS: BuilderLimits = { memoryMiB: 4096, pids: 512, timeoutS: 3600 };

export const manifestSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, maxLength: NAME_MAX, description: 'image and program name, also the hostname (default: the directory name)' },
    build: { type: ['string', 'null'], description: 'build command, run with CC/CXX set (default: "make" when there is a Makefile)' },
    entry: { type: 'string', minLength: 1, description: 'the program to run, relative to the package directory (default: the name)' },
    args: { type: 'array', items: { type: 'string' }, description: 'arguments passed to the program' },
    env: { type: 'object', additionalProperties: { type: 'string' }, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, description: 'environment of the program' },
    files: {
      type: 'array',
      description: 'extra files or directory trees for the image: "path" or {"src", "dest", "from"} (src relative to the package directory, or with "from": "build" to the tree the build ran in; dest absolute in the image)',
      items: {
        anyOf: [
          { type: 'string', minLength: 1 },
          {
            type: 'object', additionalProperties: false, required: ['src', 'dest'],
            properties: { src: { type: 'string', minLength: 1 }, dest: { type: 'string', pattern: '^/' }, from: { enum: ['package', 'build'] } },
          },
        ],
      },
    },
    cmdline: { type: 'string', description: 'extra kernel parameters (printable ASCII, double quotes only around a whole parameter or value; README.md has the rules)' },
    kernel: { enum: [...KERNELS], description: 'ROS kernel flavour' },
    onExit: { enum: [...ON_EXIT], description: 'what init does after the program exits' },
    builder: { enum: [...BUILDERS], description: 'where the package and iso stages run: host, docker (the builder image) or auto (docker when an engine answers)' },
    hrt: {
      type: 'object',
      additionalProperties: false,
      properties: {
        require: { type: 'boolean', description: 'fail instead of running natively when KVM is unusable' },
        cpus: { type: 'string', pattern: '^([0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*)?$', description: 'CPUs for HRT vCPUs, e.g. "1-3"' },
      },
    },
    source: {
      type: 'object',
      additionalProperties: false,
      required: ['debian'],
      properties: { debian: { type: 'string', minLength: 1, description: 'Debian source package to fetch, patch and build in (e.g. "lua5.4")' } },
      description: 'build an upstream source instead of the package directory: the build runs in the unpacked tree, "files" stay relative to the package directory',
    },
    overrides: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, description: 'functions the HRT serves natively (mv-cc --mv-list-overrides), e.g. ["clock_gettime", "malloc"]' },
    install: {
      type: 'object',
      additionalProperties: false,
      required: ['debian'],
      properties: { debian: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', pattern: DEBIAN_PACKAGE_PATTERN, maxLength: 128 }, description: 'Debian binary packages (e.g. "nodejs")' } },
      description: 'Debian binary packages unpacked into the image with their Depends, fetched with apt and checked against its SHA256; "entry" may then be an absolute path they provide',
    },
    mvrun: { type: 'boolean', description: 'run the entry under mvrun: an unmodified dynamic program with its main in the HRT' },
    builderLimits: {
      type: 'object',
      additionalProperties: false,
      description: 'limits of a docker builder container: memory (MiB), processes and threads, wall time (s)',
      properties: {
        memoryMiB: { type: 'integer', minimum: 64, maximum: 1048576 },
        pids: { type: 'integer', minimum: 16, maximum: 1048576 },
        timeoutS: { type: 'integer', minimum: 1, maximum: 604800 },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(manifestSchema);

function explain(file: string, e: ErrorObject) {
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'manifest';
  if (e.keyword === 'additionalProperty' || e.keyword === 'additionalProperties') {
    const field = (e.params as { additionalProperty: string }).additionalProperty;
    return msg.manifestUnknownField(file, where === 'manifest' ? field : `${where}.${field}`);
  }
  return msg.manifestInvalid(file, where, e.message ?? 'is invalid');
}

/** An unknown field first; otherwise the error deepest in the document (under anyOf, the branch that got furthest). */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) return unknown;
  const real = errors.filter((e) => e.keyword !== 'anyOf');
  return real.reduce((a, b) => (b.instancePath.split('/').length > a.instancePath.split('/').length ? b : a), real[0] ?? errors[0]);
}

/** Reads and validates <dir>/mv-image.json (when present) and fills in every default. */
export function loadManifest(dir: string): Manifest {
  const file = join(dir, 'mv-image.json');
  let raw: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw msg.manifestJson(file, (e as Error).message);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw msg.manifestInvalid(file, 'manifest', 'must be a JSON object');
    if (!validate(raw)) throw explain(file, mostSpecific(validate.errors!));
  }
  const name = (raw.name as string | undefined) ?? defaultName(basename(resolve(dir)));
  const hrt = (raw.hrt ?? {}) as Partial<Manifest['hrt']>;
  const m: Manifest = {
    name,
    build: raw.build !== undefined ? (raw.build as string | null) : existsSync(join(dir, 'Makefile')) ? 'make' : null,
    entry: (raw.entry as string | undefined) ?? name,
    args: (raw.args as string[] | undefined) ?? [],
    env: (raw.env as Record<string, string> | undefined) ?? {},
    files: ((raw.files as (string | Partial<FileEntry>)[] | undefined) ?? []).map((f): FileEntry =>
      typeof f === 'string' ? { src: f, dest: '/' + f.replace(/^\.?\/+/, ''), from: 'package' } : { src: f.src!, dest: f.dest!, from: f.from ?? 'package' }),
    cmdline: (raw.cmdline as string | undefined) ?? '',
    kernel: (raw.kernel as Manifest['kernel'] | undefined) ?? 'debian',
    onExit: (raw.onExit as Manifest['onExit'] | undefined) ?? 'poweroff',
    builder: (raw.builder as Manifest['builder'] | undefined) ?? 'host',
    hrt: { require: hrt.require ?? false, cpus: hrt.cpus ?? '' },
    source: (raw.source as Manifest['source'] | undefined) ?? null,
    overrides: (raw.overrides as string[] | undefined) ?? [],
    builderLimits: { ...DEFAULT_BUILDER_LIMITS, ...(raw.builderLimits as Partial<BuilderLimits> | undefined) },
    install: (raw.install as Manifest['install'] | undefined) ?? null,
    mvrun: (raw.mvrun as boolean | undefined) ?? false,
  };
  checkManifestRules(m, file);
  return m;
}
