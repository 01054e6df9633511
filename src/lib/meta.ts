// What a stage stores beside its artefacts (kernel.json, install.json, ...) and reads back on a
// cache hit: one JSON schema per file, its TypeScript type made from it (src/lib/schema-type.ts),
// and one reader that validates with ajv. A file that is missing, not JSON or not of its schema
// (an older format, a damaged disk) reads as undefined, and src/lib/cache.ts's `cached` then
// takes the entry as a miss and builds it again: a rebuild is better than a wrong image.
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FromSchema } from './schema-type';

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
      let data: unknown;
      try {
        data = JSON.parse(readFileSync(join(dir, file), 'utf8'));
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
