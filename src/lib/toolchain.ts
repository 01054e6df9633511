// The compiler a package is built with. This is the one seam where the Multiverse toolchain
// (mv-cc / mv-c++) replaces the host compiler; its identity is part of the package cache key.
import { exec } from './exec';
import { requireTools } from './hosttools';

export interface Toolchain { CC: string; CXX: string; id: string }

export async function hostToolchain(): Promise<Toolchain> {
  requireTools('toolchain');
  const v = await exec('cc', ['--version']);
  return { CC: 'cc', CXX: 'c++', id: v.stdout.split('\n')[0] };
}
