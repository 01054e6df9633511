// What a stage stores beside its artefacts (kernel.json, install.json, ...) and reads back on a
// cache hit: one JSON schema per file, its TypeScript type made from it (src/lib/schema-type.ts),
// and one reader that validates with ajv. A file that is missing, not JSON or not of its schema
// (an older format, a damaged disk) reads as undefined, and src/lib/cache.ts's `cached` then
// takes the entry as a miss and builds it again: a rebuild is better than a wrong image.
import Ajv from 'ajv';
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { readAt } from './iso9660';
import type { FromSchema } from './schema-type';

/** Larger than any metadata a stage writes (a package's file list included): a larger file is
 *  not ours, and reads as malformed rather than being parsed whole. */
export const META_MAX_BYTES = 16 << 20;

/** At most META_MAX_BYTES of the regular file, as text; undefined when it is missing, not a
 *  regular file (opened without blocking, so a FIFO cannot hold the read) or over the bound. */
function readBounded(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return undefined;
    const data = readAt(fd, 0, META_MAX_BYTES + 1);
    return data.length > META_MAX_BYTES ? undefined : data.toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Not strict: the schemas are the types' single declaration, not documents for users. */
const ajv = new Ajv({ allErrors: false });

export interface MetaFile<T> {
  /** Its name in a cache entry. */
  readonly file: string;
  /** The file of the entry `dir`, validated; undefined when it is missing or malformed. */
  read(dir: string): T | undefined;
}

/** A metadata file named `file` whose content is `schema` (written `as const`). */
export function metaFile<const S extends object>(file: string, schema: S): MetaFile<FromSchema<S>> {
  const validate = ajv.compile<FromSchema<S>>(schema);
  return {
    file,
    read(dir) {
      const text = readBounded(join(dir, file));
      if (text === undefined) return undefined;
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        return undefined;
      }
      return validate(data) ? data : undefined;
    },
  };
}

/** A string, an integer and a list of strings, as every schema here spells them. */
export const S = { type: 'string' } as const;
export const N = { type: 'integer' } as const;
export const STRINGS = { type: 'array', items: S } as const;
