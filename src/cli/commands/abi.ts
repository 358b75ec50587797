import type { Command } from "commander";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { HYPERCALLS, HYPERCALL_HVC_BASE } from "../../model/abi/hypercalls.ts";
import { HV_ERRORS } from "../../model/abi/errors.ts";
import { RM_MESSAGES } from "../../model/abi/rm.ts";

/**
 * The ABI tables the model speaks (src/model/abi): hypercalls by number, error codes by value
 * (printed with Gunyah's ERROR_ prefix; OK stays OK, as in GH:hyp/core/base/types.tc), RM message IDs.
 */
export interface AbiTables {
  readonly hypercalls: readonly { readonly name: string; readonly number: number }[];
  readonly errors: readonly { readonly name: string; readonly value: number }[];
  readonly rmMessages: readonly { readonly name: string; readonly id: number }[];
}

export function abiTables(): AbiTables {
  return {
    hypercalls: Object.entries(HYPERCALLS)
      .map(([name, number]) => ({ name, number }))
      .sort((a, b) => a.number - b.number),
    errors: Object.entries(HV_ERRORS)
      .map(([name, value]) => ({ name: name === "OK" ? "OK" : `ERROR_${name}`, value }))
      .sort((a, b) => a.value - b.value),
    rmMessages: RM_MESSAGES.map((m) => ({ name: m.name, id: m.id })),
  };
}

export function abiLines(t: AbiTables): string[] {
  const hex = (n: number, w: number): string => `0x${n.toString(16).padStart(w, "0")}`;
  return [
    `hypercalls (${t.hypercalls.length}; HVC #imm = ${hex(HYPERCALL_HVC_BASE, 4)} + number)`,
    ...t.hypercalls.map((h) => `  ${hex(h.number, 2)}  ${h.name}`),
    `errors (${t.errors.length})`,
    ...t.errors.map((e) => `  ${String(e.value).padStart(4)}  ${e.name}`),
    `rm messages (${t.rmMessages.length})`,
    ...t.rmMessages.map((m) => `  ${hex(m.id, 8)}  ${m.name}`),
  ];
}

export function registerAbi(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("abi")
    .description("the Gunyah ABI the model speaks: hypercall numbers, error codes, RM message IDs")
    .option("--json", 'print {"hypercalls":[{name,number}],"errors":[{name,value}],"rmMessages":[{name,id}]}')
    .action((opts: { json?: boolean }) => {
      const t = abiTables();
      if (opts.json) io.out(JSON.stringify({ hypercalls: t.hypercalls, errors: t.errors, rmMessages: t.rmMessages }));
      else for (const l of abiLines(t)) io.out(l);
      setCode(EXIT.ok);
    });
}
