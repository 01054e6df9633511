import test from 'ava';
import { readFileSync } from 'node:fs';
import { notX8664Elf, readElf, sectionData } from '../../src/lib/elf';

test('reads interpreter, DT_NEEDED and sections of a system program', (t) => {
  const buf = readFileSync('/bin/ls');
  const info = readElf(buf);
  t.is(info.interp, '/lib64/ld-linux-x86-64.so.2');
  t.true(info.needed.includes('libc.so.6'));
  t.truthy(sectionData(buf, info, '.text'));
  t.is(sectionData(buf, info, '.mv_hrt'), undefined);
});

test('says why a file is not an x86-64 ELF', (t) => {
  t.is(notX8664Elf(readFileSync('/bin/ls')), undefined);
  t.is(notX8664Elf(Buffer.from('#!/bin/sh\necho not elf\n'.padEnd(80))), 'no ELF magic');
  const arm = Buffer.from(readFileSync('/bin/ls'));
  arm.writeUInt16LE(0xb7, 18);
  t.regex(notX8664Elf(arm)!, /not x86-64/);
});
