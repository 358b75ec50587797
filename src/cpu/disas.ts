import { extractFields } from "./decode.ts";
import { decoder } from "./isa/index.ts";

/**
 * One instruction as `objdump -d` prints it (mnemonic, a tab, operands; branch targets in hex
 * without their `<symbol>`), from the same decode table that executes it. Encodings the table
 * does not have print as objdump prints unallocated words.
 */
export function disassemble(word: number, pc: number): string {
  const cls = decoder.lookup(word >>> 0);
  const text = cls === null ? null : cls.cls.text(extractFields(cls, word >>> 0), pc);
  return text ?? `.inst\t0x${(word >>> 0).toString(16).padStart(8, "0")} ; undefined`;
}

/** Whether the CPU executes this word (false: it takes the UNDEFINED exception). */
export function isImplemented(word: number, pc: number): boolean {
  const cls = decoder.lookup(word >>> 0);
  if (cls === null) return false;
  return cls.cls.emit(extractFields(cls, word >>> 0), { pc, index: 0, fail: "", done: "" }) !== null;
}

/** The name of the encoding class a word belongs to, or null (for coverage figures). */
export function classOf(word: number): string | null {
  return decoder.lookup(word >>> 0)?.cls.name ?? null;
}

const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  0x00: "UNDEFINED instruction",
  0x0e: "illegal execution state",
  0x15: "SVC",
  0x20: "instruction abort (from EL0)",
  0x21: "instruction abort",
  0x22: "PC alignment fault",
  0x24: "data abort (from EL0)",
  0x25: "data abort",
  0x26: "SP alignment fault",
  0x3c: "BRK",
};

/** An exception class (ESR_EL1.EC) as a person reads it. */
export function exceptionName(ec: number): string {
  return EXCEPTION_NAMES[ec] ?? `exception class 0x${ec.toString(16)}`;
}
