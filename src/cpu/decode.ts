/**
 * The A64 encodings as data, after QEMU's decodetree (target/arm/tcg/a64.decode): each instruction
 * class is one pattern line naming its fixed bits and its fields, and one entry that says what it
 * does (`emit`) and how it reads (`text`). Execution and disassembly go through the same entry, so
 * they can never disagree about what an encoding is.
 *
 * Pattern syntax, most significant bit first, 32 bits in all:
 *   `0` `1`   a fixed bit          `.`  a bit this pattern ignores
 *   `name:N`  an N-bit unsigned field     `name:sN`  an N-bit field, sign-extended
 * e.g. `sf:1 op:1 S:1 100010 sh:1 imm12:12 rn:5 rd:5` (ADD/ADDS/SUB/SUBS, immediate).
 */

/** The decoded fields of one instruction, by the names its pattern gives them. */
export type Fields = Readonly<Record<string, number>>;

/** What an instruction's code generator knows about where it sits. */
export interface EmitContext {
  /** Address of this instruction. */
  readonly pc: number;
  /** Its position in the block: the number of instructions before it that have retired. */
  readonly index: number;
  /** Statement ending the block with this instruction not retired (a fault was taken, or an exit set). */
  readonly fail: string;
  /** Statement ending the block with this instruction retired; control continues at `c.pc`. */
  readonly done: string;
}

export interface InsnClass {
  /** The class, as the Arm ARM's encoding index names it (`ADD/SUB (immediate)`). */
  readonly name: string;
  readonly pattern: string;
  /**
   * JavaScript statements that perform the instruction on the core `c` (registers in `R`), or null
   * when these field values are reserved: the instruction is then UNDEFINED.
   */
  emit(f: Fields, e: EmitContext): string | null;
  /** The instruction as `objdump -d` prints it (mnemonic, a tab, operands), or null when reserved. */
  text(f: Fields, pc: number): string | null;
  /** True when the instruction can change the control flow or the state a block was compiled for. */
  ends?(f: Fields): boolean;
}

interface FieldSpec {
  readonly name: string;
  readonly shift: number;
  readonly width: number;
  readonly signed: boolean;
}

export interface CompiledClass {
  readonly cls: InsnClass;
  readonly mask: number;
  readonly value: number;
  readonly fields: readonly FieldSpec[];
}

/** Parses one pattern line; throws (a table bug, found at start-up) when it is not 32 bits. */
export function compilePattern(cls: InsnClass): CompiledClass {
  let bit = 32;
  let mask = 0;
  let value = 0;
  const fields: FieldSpec[] = [];
  for (const token of cls.pattern.trim().split(/\s+/)) {
    const field = /^([A-Za-z_][A-Za-z0-9_]*):(s?)(\d+)$/.exec(token);
    if (field !== null) {
      const width = Number(field[3]);
      bit -= width;
      fields.push({ name: field[1]!, shift: bit, width, signed: field[2] === "s" });
      continue;
    }
    if (!/^[01.]+$/.test(token)) throw new Error(`decode table: ${cls.name}: bad pattern token '${token}'`);
    for (const ch of token) {
      bit -= 1;
      if (ch === ".") continue;
      mask |= 1 << bit;
      if (ch === "1") value |= 1 << bit;
    }
  }
  if (bit !== 0) throw new Error(`decode table: ${cls.name}: pattern is ${32 - bit} bits, not 32`);
  return { cls, mask: mask >>> 0, value: value >>> 0, fields };
}

/** The fields of `word` under a class's pattern. */
export function extractFields(c: CompiledClass, word: number): Fields {
  const out: Record<string, number> = {};
  for (const f of c.fields) {
    const raw = (word >>> f.shift) & (f.width === 32 ? -1 : (1 << f.width) - 1);
    out[f.name] = f.signed ? (raw << (32 - f.width)) >> (32 - f.width) : raw >>> 0;
  }
  return out;
}

/**
 * A decoder over a table of classes. The A64 encoding index is a tree whose leaves are disjoint, so
 * two patterns that can match the same word are a table bug: the constructor refuses them, naming
 * both (decodetree's overlap check). Classes are bucketed by bits 28:25 (op0 of the top-level
 * encoding index), which splits the table into its main groups.
 */
export class Decoder {
  private readonly buckets: CompiledClass[][] = Array.from({ length: 16 }, () => []);
  readonly classes: readonly CompiledClass[];

  constructor(table: readonly InsnClass[]) {
    const compiled = table.map(compilePattern);
    for (let i = 0; i < compiled.length; i++) {
      for (let j = i + 1; j < compiled.length; j++) {
        const a = compiled[i]!;
        const b = compiled[j]!;
        if (((a.value ^ b.value) & a.mask & b.mask) === 0) {
          throw new Error(`decode table: '${a.cls.name}' and '${b.cls.name}' overlap`);
        }
      }
    }
    for (const c of compiled) {
      // A class whose pattern fixes all of bits 28:25 goes in one bucket; others in every bucket they can match.
      for (let op0 = 0; op0 < 16; op0++) {
        if (((op0 << 25) & c.mask & (0xf << 25)) === (c.value & (0xf << 25))) this.buckets[op0]!.push(c);
      }
    }
    this.classes = compiled;
  }

  /** The class that `word` belongs to, or null for an unallocated encoding. */
  lookup(word: number): CompiledClass | null {
    const bucket = this.buckets[(word >>> 25) & 0xf]!;
    for (let i = 0; i < bucket.length; i++) {
      const c = bucket[i]!;
      if (((word & c.mask) >>> 0) === c.value) return c;
    }
    return null;
  }
}
