// The compiler a package is built with: the seam where the Multiverse toolchain (mv-cc and
// mv-c++, made by src/stages/toolchain.ts) replaces the host compiler. Its id is part of the
// package stage's cache key.
export interface Toolchain {
  CC: string;
  CXX: string;
  id: string;
}
