// Is a file an ISO 9660 image, whole, and bootable from a CD? Read from its volume descriptors
// only (ECMA-119: 2048-byte descriptors from sector 16 to the terminator), so `run` and
// `inspect` refuse a text file or a copy cut short at once instead of booting or unpacking it.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const SECTOR = 2048,
  FIRST = 16,
  MAX_DESCRIPTORS = 32;

export interface IsoVolume {
  /** Bytes the primary volume descriptor says the volume has. */
  volumeBytes: number;
  /** An El Torito boot record is present (what a BIOS or UEFI boots a CD from). */
  bootable: boolean;
}

/** Reads at most `length` bytes at `position` of an open file. */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let n = 0;
  while (n < length) {
    const got = readSync(fd, buf, n, length - n, position + n);
    if (got === 0) break;
    n += got;
  }
  return buf.subarray(0, n);
}

/** The volume of the ISO at `path`, or why it is not a whole ISO 9660 image. */
export function isoVolume(path: string): IsoVolume | string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = readAt(fd, FIRST * SECTOR, MAX_DESCRIPTORS * SECTOR);
    const pvd = head.subarray(0, SECTOR);
    if (pvd.length < SECTOR || pvd[0] !== 1 || pvd.toString('latin1', 1, 6) !== 'CD001')
      return 'it is not an ISO 9660 image (no primary volume descriptor at byte 32768)';
    const blockSize = pvd.readUInt16LE(128),
      blocks = pvd.readUInt32LE(80);
    if (![512, 1024, 2048].includes(blockSize)) return `its primary volume descriptor is damaged (a block size of ${blockSize})`;
    const volumeBytes = blockSize * blocks;
    if (size < volumeBytes) return `it is cut short: the volume has ${volumeBytes} bytes, the file ${size}`;
    let bootable = false;
    for (let off = 0; off + SECTOR <= head.length; off += SECTOR) {
      const type = head[off];
      if (head.toString('latin1', off + 1, off + 6) !== 'CD001' || type === 255) break;
      if (type === 0 && head.toString('latin1', off + 7, off + 30) === 'EL TORITO SPECIFICATION') bootable = true;
    }
    return { volumeBytes, bootable };
  } finally {
    closeSync(fd);
  }
}
