import type { Command } from "commander";
import type { Io } from "../io.ts";
import { helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { HYPERCALLS, HYPERCALL_HVC_BASE, HYPERCALL_SMCCC_BASE } from "../../model/abi/hypercalls.ts";
import { die } from "../../core/errors.ts";
import { didYouMean } from "../../timetravel/words.ts";
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
    ...t.rmMessages.map((m) => `  ${hex(m.id, 8)}  ${m.name}${m.name === "VM_SET_CONTEXT" ? " (Linux: VM_SET_BOOT_CONTEXT)" : ""}`),
    `pv time and the guest_memfd driver (issue 17)`,
    ...NEWER_ABI.map((x) => `  ${x.value.padEnd(10)}  ${x.name}`),
  ];
}

/**
 * Beyond the hypercall and RM tables: the SMCCC PV time calls (Arm DEN0057A; GH:hyp/vm/arm_pv_time),
 * the vcpu_run state of the newer hypervisor (Linux include/linux/gunyah.h) and the later driver's
 * ioctls (upstream v17 uapi: reference gunyah-rm-and-host §7.1).
 */
const NEWER_ABI: readonly { name: string; value: string }[] = [
  { name: "SMCCC PV_TIME_FEATURES (SMC64)", value: "0xc5000020" },
  { name: "SMCCC PV_TIME_ST (SMC64)", value: "0xc5000021" },
  { name: "vcpu_run state PAGE_FAULT", value: "7" },
  { name: "ioctl GUNYAH_CREATE_GUEST_MEM", value: "0x40404708" },
  { name: "ioctl GUNYAH_VM_MAP_MEM", value: "0x40204709" },
  { name: "ioctl GUNYAH_VM_SET_BOOT_CONTEXT", value: "0x4010470a" },
];

/** What a number or name is in the ABI: a hypercall (by number, HVC immediate or SMCCC ID), an error, an RM message. */
export interface AbiMatch {
  readonly table: "hypercall" | "error" | "rm message";
  readonly name: string;
  readonly value: number;
  readonly line: string;
}

const hex = (n: number, w = 2): string => `${n < 0 ? "-" : ""}0x${Math.abs(n).toString(16).padStart(w, "0")}`;

function parseNumber(q: string): number | null {
  const s = q.replace(/_/g, "");
  if (/^-?\d+$/.test(s)) return Number(s);
  if (/^-?0x[0-9a-f]+$/i.test(s)) return (s.startsWith("-") ? -1 : 1) * Number.parseInt(s.replace(/^-/, ""), 16);
  return null;
}

/**
 * Looks one call, error or message up by name (case-insensitive, with or without ERROR_) or by
 * number: a hypercall number, its HVC immediate (0x6000 + n) or SMCCC function ID (0xC6008000 + n),
 * an error value, an RM message ID. A number may match in several tables; all are listed.
 */
export function abiLookup(t: AbiTables, query: string): AbiMatch[] {
  const n = parseNumber(query);
  const name = query.toUpperCase().replace(/^ERROR_/, "");
  const call = (h: { name: string; number: number }): AbiMatch => ({
    table: "hypercall",
    name: h.name,
    value: h.number,
    line: `hypercall ${h.name}: number ${hex(h.number)}, HVC #${hex(HYPERCALL_HVC_BASE + h.number, 4)}, SMCCC function ID ${hex(HYPERCALL_SMCCC_BASE + h.number, 8)}`,
  });
  const out: AbiMatch[] = [];
  for (const h of t.hypercalls) {
    if (n === null ? h.name.toUpperCase() === name : n === h.number || n === HYPERCALL_HVC_BASE + h.number || n === HYPERCALL_SMCCC_BASE + h.number) out.push(call(h));
  }
  // A number in the HVC table with no handler is an answer too (reference gunyah-hypervisor.md §2).
  const slot = n === null ? null : n >= HYPERCALL_SMCCC_BASE ? n - HYPERCALL_SMCCC_BASE : n >= HYPERCALL_HVC_BASE ? n - HYPERCALL_HVC_BASE : n;
  if (slot !== null && slot >= 0 && slot < 0x200 && out.length === 0) {
    out.push({ table: "hypercall", name: "(unimplemented)", value: slot, line: `hypercall ${hex(slot)}: no handler in the modelled build (HVC #${hex(HYPERCALL_HVC_BASE + slot, 4)} returns ERROR_UNIMPLEMENTED)` });
  }
  for (const e of t.errors) {
    if (n === null ? e.name.toUpperCase().replace(/^ERROR_/, "") === name : n === e.value) out.push({ table: "error", name: e.name, value: e.value, line: `error ${e.name}: ${e.value}` });
  }
  for (const m of t.rmMessages) {
    if (n === null ? m.name.toUpperCase() === name : n === m.id) out.push({ table: "rm message", name: m.name, value: m.id, line: `rm message ${m.name}: ${hex(m.id, 8)}` });
  }
  return out;
}

export function registerAbi(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("abi")
    .description("the Gunyah ABI the model speaks: hypercall numbers, error codes, RM message IDs; or one of them by number or name")
    .argument("[query]", "a name (vcpu_run, DENIED, MEM_LEND) or a number (0x65, 0x6065, 0xc6008065, -1, 0x51000012)")
    .option("--json", 'print {"hypercalls":[{name,number}],"errors":[{name,value}],"rmMessages":[{name,id}]} (with a query: the matches)')
    .addHelpText("after", helpAfter("abi", ["hvsim abi vcpu_run", "hvsim abi 0x6065", "hvsim abi ERROR_DENIED"]))
    .action((query: string | undefined, opts: { json?: boolean }) => {
      const t = abiTables();
      if (query !== undefined) {
        const found = abiLookup(t, query);
        if (found.length === 0) {
          const hint = didYouMean(query, [...t.hypercalls.map((h) => h.name), ...t.errors.map((e) => e.name), ...t.rmMessages.map((m) => m.name)]);
          die("ARGUMENT_INVALID", `abi: nothing is called or numbered '${query}'${hint}`);
        }
        if (opts.json) io.out(JSON.stringify(found.map(({ line: _l, ...m }) => m)));
        else for (const m of found) io.out(m.line);
        setCode(EXIT.ok);
        return;
      }
      if (opts.json) io.out(JSON.stringify({ hypercalls: t.hypercalls, errors: t.errors, rmMessages: t.rmMessages }));
      else for (const l of abiLines(t)) io.out(l);
      setCode(EXIT.ok);
    });
}
