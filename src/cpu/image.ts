import { die } from "../core/errors.ts";

/**
 * Program images the CPU can start from: an AArch64 ELF (its PT_LOAD segments, its entry point and
 * symbols) or a raw binary, loaded at 0x80000 as the arm64 Linux boot protocol places an Image.
 * Parsing is pure (bytes in, segments out); reading the file is the CLI's business.
 */
export interface Segment {
  readonly address: number;
  readonly bytes: Uint8Array;
  /** Bytes of zeroes after `bytes` (.bss: p_memsz beyond p_filesz). */
  readonly zeroBytes: number;
  readonly executable: boolean;
}

export interface ProgramImage {
  readonly format: "elf" | "raw";
  readonly entry: number;
  readonly segments: readonly Segment[];
  /** Sections holding instructions (ELF section headers with SHF_EXECINSTR); empty for a raw binary or a stripped ELF. */
  readonly codeSections: readonly { readonly name: string; readonly address: number; readonly bytes: Uint8Array }[];
  /** Function and object symbols by address (ELF only), for disassembly labels and --entry. */
  readonly symbols: readonly { readonly name: string; readonly address: number; readonly size: number }[];
}

export const RAW_LOAD_ADDRESS = 0x80000;
const EM_AARCH64 = 183;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;
/** Far beyond any bare-metal image, and small enough to stay exact as a double. */
const ADDRESS_LIMIT = 2 ** 48;

function bad(what: string): never {
  die("ARGUMENT_INVALID", `not a loadable AArch64 image: ${what}`);
}

export function parseImage(bytes: Uint8Array): ProgramImage {
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) return parseElf(bytes);
  if (bytes.length === 0) bad("the file is empty");
  return { format: "raw", entry: RAW_LOAD_ADDRESS, segments: [{ address: RAW_LOAD_ADDRESS, bytes, zeroBytes: 0, executable: true }], codeSections: [], symbols: [] };
}

function parseElf(b: Uint8Array): ProgramImage {
  if (b.length < 64) bad(`ELF header cut short (${b.length} bytes)`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[4] !== 2) bad("a 32-bit ELF (ELFCLASS32); AArch64 programs are ELFCLASS64");
  if (b[5] !== 1) bad("a big-endian ELF; this CPU runs little-endian code");
  const machine = v.getUint16(18, true);
  if (machine !== EM_AARCH64) bad(`ELF machine ${machine}, not AArch64 (${EM_AARCH64})`);
  const u64 = (o: number, what: string): number => {
    if (o + 8 > b.length) bad(`${what} lies past the end of the file`);
    const x = v.getBigUint64(o, true);
    if (x >= BigInt(ADDRESS_LIMIT)) bad(`${what} 0x${x.toString(16)} is beyond the 48-bit address space`);
    return Number(x);
  };
  const entry = u64(24, "entry point");
  const phoff = u64(32, "program header offset");
  const shoff = u64(40, "section header offset");
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  const shentsize = v.getUint16(58, true);
  const shnum = v.getUint16(60, true);
  if (phnum > 0 && phentsize < 56) bad(`program header entries of ${phentsize} bytes`);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + 56 > b.length) bad(`program header ${i} lies past the end of the file`);
    if (v.getUint32(o, true) !== PT_LOAD) continue;
    const flags = v.getUint32(o + 4, true);
    const offset = u64(o + 8, `segment ${i} offset`);
    const address = u64(o + 16, `segment ${i} address`);
    const filesz = u64(o + 32, `segment ${i} file size`);
    const memsz = u64(o + 40, `segment ${i} memory size`);
    if (filesz > 0 && offset + filesz > b.length) bad(`segment ${i} (${filesz} bytes at file offset ${offset}) runs past the end of the file`);
    if (memsz < filesz) bad(`segment ${i} is smaller in memory (${memsz}) than in the file (${filesz})`);
    if (address + memsz > ADDRESS_LIMIT) bad(`segment ${i} ends beyond the 48-bit address space`);
    segments.push({ address, bytes: filesz > 0 ? b.subarray(offset, offset + filesz) : new Uint8Array(0), zeroBytes: memsz - filesz, executable: (flags & 1) !== 0 });
  }
  if (segments.length === 0) bad("no PT_LOAD segment");
  const withSections = shnum > 0 && shentsize >= 64;
  return {
    format: "elf",
    entry,
    segments,
    codeSections: withSections ? codeSectionsOf(b, v, shoff, shnum, shentsize) : [],
    symbols: withSections ? symbolsOf(b, v, shoff, shnum, shentsize) : [],
  };
}

const SHF_EXECINSTR = 4;
const SHT_PROGBITS = 1;

function codeSectionsOf(b: Uint8Array, v: DataView, shoff: number, shnum: number, shentsize: number): ProgramImage["codeSections"] {
  const names = (() => {
    const strndx = v.getUint16(62, true);
    const o = shoff + strndx * shentsize;
    return o + 64 <= b.length ? { offset: Number(v.getBigUint64(o + 24, true)), size: Number(v.getBigUint64(o + 32, true)) } : null;
  })();
  const out: { name: string; address: number; bytes: Uint8Array }[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    if (o + 64 > b.length) break;
    const type = v.getUint32(o + 4, true);
    const flags = Number(v.getBigUint64(o + 8, true) & 0xffffn);
    if (type !== SHT_PROGBITS || (flags & SHF_EXECINSTR) === 0) continue;
    const address = Number(v.getBigUint64(o + 16, true));
    const offset = Number(v.getBigUint64(o + 24, true));
    const size = Number(v.getBigUint64(o + 32, true));
    if (offset + size > b.length) continue;
    let name = `section ${i}`;
    if (names !== null) {
      const start = names.offset + v.getUint32(o, true);
      let end = start;
      while (end < names.offset + names.size && end < b.length && b[end] !== 0) end++;
      name = new TextDecoder().decode(b.subarray(start, end));
    }
    out.push({ name, address, bytes: b.subarray(offset, offset + size) });
  }
  return out;
}

function symbolsOf(b: Uint8Array, v: DataView, shoff: number, shnum: number, shentsize: number): ProgramImage["symbols"] {
  const out: { name: string; address: number; size: number }[] = [];
  const section = (i: number): { type: number; offset: number; size: number; link: number; entsize: number } | null => {
    const o = shoff + i * shentsize;
    if (o + 64 > b.length) return null;
    return {
      type: v.getUint32(o + 4, true),
      offset: Number(v.getBigUint64(o + 24, true)),
      size: Number(v.getBigUint64(o + 32, true)),
      link: v.getUint32(o + 40, true),
      entsize: Number(v.getBigUint64(o + 56, true)),
    };
  };
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s === null || s.type !== SHT_SYMTAB || s.entsize < 24) continue;
    const strtab = section(s.link);
    if (strtab === null || s.offset + s.size > b.length || strtab.offset + strtab.size > b.length) continue;
    for (let o = s.offset; o + 24 <= s.offset + s.size; o += s.entsize) {
      const nameOff = v.getUint32(o, true);
      const type = b[o + 4]! & 0xf;
      const shndx = v.getUint16(o + 6, true);
      // Functions, objects and untyped labels defined in a section (not files or sections themselves).
      if (shndx === 0 || type > 2 || nameOff >= strtab.size) continue;
      let end = strtab.offset + nameOff;
      while (end < strtab.offset + strtab.size && b[end] !== 0) end++;
      const name = new TextDecoder().decode(b.subarray(strtab.offset + nameOff, end));
      const address = Number(v.getBigUint64(o + 8, true));
      if (name === "" || name.startsWith("$")) continue;
      out.push({ name, address, size: Number(v.getBigUint64(o + 16, true)) });
    }
  }
  return out.sort((x, y) => x.address - y.address || x.name.localeCompare(y.name));
}
