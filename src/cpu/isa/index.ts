import { Decoder, type InsnClass } from "../decode.ts";
import { BRANCH_SYSTEM } from "./branch-sys.ts";
import { DATA_PROCESSING_IMMEDIATE } from "./dp-imm.ts";
import { DATA_PROCESSING_REGISTER } from "./dp-reg.ts";
import { LOADS_STORES } from "./ldst.ts";

/**
 * UDF: the permanently undefined space (op0 = 0000, bits 31:16 zero). It executes as UNDEFINED like
 * any unallocated encoding; it is a class only so the disassembler can name it as objdump does.
 */
const udf: InsnClass = {
  name: "Reserved (UDF)",
  pattern: "0000000000000000 imm16:16",
  emit: () => null,
  text: (f) => `udf\t#${f.imm16}`,
};

/** The whole ARMv8.0-A base integer instruction set, one entry per encoding class. */
export const A64: readonly InsnClass[] = [udf, ...DATA_PROCESSING_IMMEDIATE, ...BRANCH_SYSTEM, ...LOADS_STORES, ...DATA_PROCESSING_REGISTER];

/** Built once at start-up; building it checks that no two classes overlap. */
export const decoder = new Decoder(A64);
