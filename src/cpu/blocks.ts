import * as alu from "./alu.ts";
import { codeOf, newCodeOf, type Block } from "./codecache.ts";
import type { Core } from "./core.ts";
import { extractFields, type EmitContext } from "./decode.ts";
import { decoder } from "./isa/index.ts";
import { SYSREGS } from "./sysregs.ts";

/**
 * Translation of guest code into JavaScript, one function per basic block (after QEMU's TCG, in
 * miniature): each instruction class emits statements for its decoded fields, a block runs until
 * an instruction that can change control flow or the state blocks were compiled for, the end of
 * its page, or BLOCK_MAX instructions, and V8 compiles the result to machine code. Only decoded
 * integer fields are ever spliced into the generated source.
 */

const BLOCK_MAX = 64;

/** What generated code may call, passed in once per block. */
const HELPERS: Record<string, unknown> = { ...alu, SYS: SYSREGS };
const HELPER_NAMES = Object.keys(HELPERS);
const HELPER_VALUES = HELPER_NAMES.map((k) => HELPERS[k]);

/** The statements of one instruction at position `index` of a block, and whether it ends the block. */
function instructionSource(word: number, at: number, index: number): { code: string; ends: boolean } {
  const e: EmitContext = { pc: at, index, fail: `return ${index};`, done: `return ${index + 1};` };
  const cls = decoder.lookup(word);
  const fields = cls === null ? null : extractFields(cls, word);
  const code = cls === null || fields === null ? null : cls.cls.emit(fields, e);
  if (code === null) return { code: `c.undefinedInsn(${at}); return ${index};`, ends: true };
  return { code: `{ ${code} }`, ends: cls!.cls.ends?.(fields!) ?? false };
}

function instantiate(source: string): unknown {
  return new Function(...HELPER_NAMES, `"use strict"; return ${source};`)(...HELPER_VALUES);
}

function compile(page: Uint8Array, pc: number, max: number): Block {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const lines: string[] = [];
  let off = pc % 4096;
  let n = 0;
  let ended = false;
  while (n < max && off < 4096 && !ended) {
    const insn = instructionSource(view.getUint32(off, true), pc + 4 * n, n);
    lines.push(insn.code);
    ended = insn.ends;
    n += 1;
    off += 4;
  }
  if (!ended) lines.push(`c.pc = ${pc + 4 * n}; return ${n};`);
  const fn = instantiate(`function block_${pc.toString(16)}(c) { const R = c.R; ${lines.join("\n")} }`) as (c: Core) => number;
  return { pc, n, fn, valid: true, next: null, nextPc: -1, nextRun: -1 };
}

/**
 * Each word as its own one-instruction block at `pc`, compiled together in one go: for fuzzing the
 * translator with many unrelated words (each runs exactly as it would alone at that address).
 */
export function compileEach(words: ArrayLike<number>, pc: number): ((c: Core) => number)[] {
  const fns: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const insn = instructionSource(words[i]! >>> 0, pc, 0);
    fns.push(`function (c) { const R = c.R; ${insn.code}${insn.ends ? "" : ` c.pc = ${pc + 4}; return 1;`} }`);
  }
  return instantiate(`[${fns.join(",\n")}]`) as ((c: Core) => number)[];
}

/** The block at `pc` in `page` (`single`: just the one instruction), compiled on first use. */
export function blockAt(c: Core, page: Uint8Array, pc: number, single: boolean): Block {
  let code = codeOf(page, single);
  if (code === undefined) {
    code = newCodeOf(page, single);
    c.codeAdded(page);
  }
  let b = code.get(pc);
  if (b === undefined) {
    b = compile(page, pc, single ? 1 : BLOCK_MAX);
    code.set(pc, b);
  }
  return b;
}

/** The JavaScript a block at `pc` would run: for people debugging the translator (`hvsim cpu disas --js`). */
export function blockSource(page: Uint8Array, pc: number): string {
  return compile(page, pc, BLOCK_MAX).fn.toString();
}
