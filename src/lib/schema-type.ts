// The TypeScript type of a JSON schema written `as const`, so that a schema is the one
// declaration of its data (src/lib/manifest.ts). It covers the keywords mv-image's schemas use:
// type (one or a list), enum, anyOf, items, properties with required, and additionalProperties as
// a map's values. A property with a "default" is present: ajv's useDefaults fills it in.

type Primitive<T> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : T extends 'array'
          ? unknown[]
          : T extends 'object'
            ? Record<string, unknown>
            : never;

/** Flattens an intersection into one object type (for readable hovers and errors). */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

type Present<S, P> =
  (S extends { required: readonly (infer R)[] } ? R : never) | { [K in keyof P]: P[K] extends { default: unknown } ? K : never }[keyof P];

type ObjectOf<S, P> = Simplify<
  { -readonly [K in keyof P as K extends Present<S, P> ? K : never]: FromSchema<P[K]> } & {
    -readonly [K in keyof P as K extends Present<S, P> ? never : K]?: FromSchema<P[K]>;
  }
>;

export type FromSchema<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { anyOf: readonly (infer A)[] }
    ? FromSchema<A>
    : S extends { type: 'array'; items: infer I }
      ? FromSchema<I>[]
      : S extends { type: 'object'; properties: infer P }
        ? ObjectOf<S, P>
        : S extends { type: 'object'; additionalProperties: infer V extends object }
          ? Record<string, FromSchema<V>>
          : S extends { type: readonly (infer T)[] }
            ? Primitive<T>
            : S extends { type: infer T }
              ? Primitive<T>
              : unknown;
