// The package manifest, mv-image.json, declared once: manifestSchema is its JSON schema, its
// defaults (ajv fills them in) and, through FromSchema, its TypeScript type. Every field is
// optional, so a directory with a Makefile builds with no manifest at all.
import Ajv, { ErrorObject } from 'ajv';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkManifestRules, defaultName, NAME_MAX, NAME_PATTERN } from './manifest-rules';
import { msg } from './messages';
import type { FromSchema, Simplify } from './schema-type';

export const ON_EXIT = ['poweroff', 'shell', 'reboot'] as const;
/** Debian Policy 5.6.1: lower case letters, digits, "+", "-" and ".", at least two characters,
 *  starting with a letter or digit. */
export const DEBIAN_PACKAGE_PATTERN = '^[a-z0-9][a-z0-9+.-]+$';
export const BUILDERS = ['host', 'docker', 'auto'] as const;
export const KERNELS = ['debian', 'tuned'] as const;

export const manifestSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      pattern: NAME_PATTERN,
      maxLength: NAME_MAX,
      description: 'image and program name, also the hostname (default: the directory name)',
    },
    build: { type: ['string', 'null'], description: 'build command, run with CC/CXX set (default: "make" when there is a Makefile)' },
    entry: { type: 'string', minLength: 1, description: 'the program to run, relative to the package directory (default: the name)' },
    args: { type: 'array', items: { type: 'string' }, default: [], description: 'arguments passed to the program' },
    env: {
      type: 'object',
      additionalProperties: { type: 'string' },
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      default: {},
      description: 'environment of the program',
    },
    files: {
      type: 'array',
      default: [],
      description:
        'extra files or directory trees for the image: "path" or {"src", "dest", "from"} (src relative to the package directory, or with "from": "build" to the tree the build ran in; dest absolute in the image)',
      items: {
        anyOf: [
          { type: 'string', minLength: 1 },
          {
            type: 'object',
            additionalProperties: false,
            required: ['src', 'dest'],
            properties: {
              src: { type: 'string', minLength: 1 },
              dest: { type: 'string', pattern: '^/' },
              from: { enum: ['package', 'build'] },
            },
          },
        ],
      },
    },
    cmdline: {
      type: 'string',
      default: '',
      description:
        'extra kernel parameters (printable ASCII, double quotes only around a whole parameter or value; README.md has the rules)',
    },
    kernel: { enum: KERNELS, default: 'debian', description: 'ROS kernel flavour' },
    onExit: { enum: ON_EXIT, default: 'poweroff', description: 'what init does after the program exits' },
    builder: {
      enum: BUILDERS,
      default: 'host',
      description: 'where the package and iso stages run: host, docker (the builder image) or auto (docker when an engine answers)',
    },
    hrt: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        require: { type: 'boolean', default: false, description: 'fail instead of running natively when KVM is unusable' },
        cpus: {
          type: 'string',
          pattern: '^([0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*)?$',
          default: '',
          description: 'CPUs for HRT vCPUs, e.g. "1-3"',
        },
      },
    },
    source: {
      type: 'object',
      additionalProperties: false,
      required: ['debian'],
      properties: {
        debian: { type: 'string', minLength: 1, description: 'Debian source package to fetch, patch and build in (e.g. "lua5.4")' },
      },
      description:
        'build an upstream source instead of the package directory: the build runs in the unpacked tree, "files" stay relative to the package directory',
    },
    overrides: {
      type: 'array',
      items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      default: [],
      description: 'functions the HRT serves natively (mv-cc --mv-list-overrides), e.g. ["clock_gettime", "malloc"]',
    },
    install: {
      type: 'object',
      additionalProperties: false,
      required: ['debian'],
      properties: {
        debian: {
          type: 'array',
          minItems: 1,
          maxItems: 64,
          items: { type: 'string', pattern: DEBIAN_PACKAGE_PATTERN, maxLength: 128 },
          description: 'Debian binary packages (e.g. "nodejs")',
        },
        exclude: {
          type: 'array',
          maxItems: 64,
          items: { type: 'string', pattern: DEBIAN_PACKAGE_PATTERN, maxLength: 128 },
          default: [],
          description: 'packages left out although one of them depends on it (e.g. "adduser", which only maintainer scripts run)',
        },
      },
      description:
        'Debian binary packages unpacked into the image with their Depends, fetched with apt and checked against its SHA256; "entry" may then be an absolute path they provide',
    },
    mvrun: {
      type: 'boolean',
      default: false,
      description: 'run the entry under mvrun: an unmodified dynamic program with its main in the HRT',
    },
    builderLimits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'limits of a docker builder container: memory (MiB), processes and threads, wall time (s)',
      properties: {
        memoryMiB: { type: 'integer', minimum: 64, maximum: 1048576, default: 4096 },
        pids: { type: 'integer', minimum: 16, maximum: 1048576, default: 512 },
        timeoutS: { type: 'integer', minimum: 1, maximum: 604800, default: 3600 },
      },
    },
  },
} as const;

/** mv-image.json as validated, with the schema's defaults filled in (ajv's useDefaults). */
export type ManifestInput = FromSchema<typeof manifestSchema>;

/** An extra file (or directory tree) for the image. `from` says where `src` is: the package
 *  directory as given ("package"), or the tree the build ran in, after the build ("build"). */
export type FileEntry = Required<Exclude<ManifestInput['files'][number], string>>;

/** The manifest the stages use: the input, with the defaults that depend on the package
 *  directory (name, build, entry), every file as a FileEntry, and source null when absent. */
export type Manifest = Simplify<
  Omit<ManifestInput, 'name' | 'build' | 'entry' | 'files' | 'source' | 'install'> & {
    name: string;
    build: string | null;
    entry: string;
    files: FileEntry[];
    /** An upstream source to build instead of the package directory's own files. */
    source: NonNullable<ManifestInput['source']> | null;
    /** Debian binary packages unpacked into the image with their dependencies (src/stages/install.ts). */
    install: NonNullable<ManifestInput['install']> | null;
  }
>;

export type BuilderLimits = Manifest['builderLimits'];

const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true });
const validate = ajv.compile<ManifestInput>(manifestSchema);

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
  let raw: unknown = {};
  if (existsSync(file)) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw msg.manifestJson(file, (e as Error).message);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw msg.manifestInvalid(file, 'manifest', 'must be a JSON object');
  }
  // Validating fills in the schema's defaults, so {} (no manifest) is valid and complete too.
  if (!validate(raw)) throw explain(file, mostSpecific(validate.errors!));
  const name = raw.name ?? defaultName(basename(resolve(dir)));
  // Fields in the order they always had: the package stage's cache key is their JSON.
  const m: Manifest = {
    name,
    build: raw.build !== undefined ? raw.build : existsSync(join(dir, 'Makefile')) ? 'make' : null,
    entry: raw.entry ?? name,
    args: raw.args,
    env: raw.env,
    files: raw.files.map((f): FileEntry =>
      typeof f === 'string'
        ? { src: f, dest: '/' + f.replace(/^\.?\/+/, ''), from: 'package' }
        : { src: f.src, dest: f.dest, from: f.from ?? 'package' },
    ),
    cmdline: raw.cmdline,
    kernel: raw.kernel,
    onExit: raw.onExit,
    builder: raw.builder,
    hrt: { require: raw.hrt.require, cpus: raw.hrt.cpus },
    source: raw.source ?? null,
    overrides: raw.overrides,
    builderLimits: { memoryMiB: raw.builderLimits.memoryMiB, pids: raw.builderLimits.pids, timeoutS: raw.builderLimits.timeoutS },
    install: raw.install ? { debian: [...raw.install.debian], exclude: [...raw.install.exclude] } : null,
    mvrun: raw.mvrun,
  };
  checkManifestRules(m, file);
  return m;
}
