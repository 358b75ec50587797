import type { Command } from "commander";
import { INPUT_BYTES_MAX, readInputFile } from "../../sim/file/read-file.ts";
import type { Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { die } from "../../core/errors.ts";
import { parseIntOption } from "../files.ts";
import { indexOption, isTraceFile, withTrace } from "../target.ts";
import { verifiedStateAt } from "../../timetravel/state-at.ts";
import { verifyBcc, type BccEntry } from "../../model/pvmfw/dice.ts";
import { bccFromCbor, handoverBcc } from "../../model/pvmfw/boot.ts";
import type { Machine } from "../../model/machine.ts";
import { toJson } from "../../core/json.ts";

const MODE = ["not-configured", "normal", "debug", "maintenance"];

/** The DICE chain pvmfw handed a protected VM in this state (the lowest VMID with one, or `vm`). */
function chainIn(s: Machine, vm: number | undefined): { vm: number; bytes: Uint8Array } | null {
  for (const id of [...s.pvm.vms.ids].sort((a, b) => a - b)) {
    const h = s.pvm.vms.byId[id]!.handover;
    if (h !== null && (vm === undefined || vm === id)) return { vm: id, bytes: handoverBcc(h) };
  }
  return null;
}

function entryLine(e: BccEntry): string {
  const name = e.componentName ?? "(no component name)";
  return `  [${e.index}] ${name}: mode ${MODE[e.mode] ?? e.mode}, code ${e.codeHash.slice(0, 16)}…, authority ${e.authorityHash.slice(0, 16)}…, subject ${e.subject}`;
}

/** Reads the chain from a trace (final state, or after event --at) or from a raw CBOR file. */
function loadChain(io: Io, file: string, opts: { at?: string; vm?: string }): { bytes: Uint8Array; from: string; damaged: boolean } {
  if (isTraceFile(file)) {
    return withTrace(io, file, (trace) => {
      const at = opts.at === undefined ? undefined : indexOption(trace, "--at", opts.at);
      const state = verifiedStateAt(trace, at);
      const vm = opts.vm === undefined ? undefined : parseIntOption("--vm", opts.vm, 0);
      const c = chainIn(state, vm);
      if (c === null) die("ARGUMENT_INVALID", `${file}: no protected VM has a DICE chain after event ${state.seq}${vm === undefined ? "" : ` (VM ${vm})`}`);
      // Without --at the chain is the final state's: a damaged trace may have lost what came later.
      return { bytes: c.bytes, from: `VM ${c.vm} after event ${state.seq}`, damaged: trace.damage !== null && at === undefined };
    });
  }
  const raw = readInputFile(`${file}: `, file, INPUT_BYTES_MAX.cbor);
  const bytes = bccFromCbor(raw);
  if (bytes === null) die("ARGUMENT_INVALID", `${file}: neither a trace nor CBOR holding a DICE chain (an array, or a handover map with key 3)`);
  return { bytes, from: "CBOR file", damaged: false };
}

/**
 * `hvsim bcc verify FILE`: checks the DICE chain (BCC) a protected VM got from pvmfw — found in a
 * trace's final state (or after event `--at N`), or given as raw CBOR (a chain array or a handover
 * map). Exit 0 valid, with one line per entry; 1 invalid, naming the entry index; 2 bad input.
 */
export function registerBcc(program: Command, io: Io, setCode: (c: number) => void): void {
  const bcc = program.command("bcc").description("DICE boot certificate chain tools (the chain pvmfw hands a protected VM)");
  bcc
    .command("verify")
    .description("verify a DICE chain from a trace (a protected VM's handover) or a CBOR file")
    .argument("<file>", "a trace, or CBOR: a DiceCertChain array or an AndroidDiceHandover map")
    .option("--at <n>", "the state after event N (default: the end of the trace)")
    .option("--vm <vmid>", "which protected VM (default: the lowest VMID with a chain)")
    .option("--json", "print the result as JSON")
    .addHelpText("after", helpAfter("bcc verify", [`hvsim bcc verify ${EXAMPLE_TRACE}`, `hvsim bcc verify ${EXAMPLE_TRACE} --at 40 --vm 128`]))
    .action((file: string, opts: { at?: string; vm?: string; json?: boolean }) => {
      const { bytes, from, damaged } = loadChain(io, file, opts);
      const r = verifyBcc(bytes);
      if (opts.json) {
        io.out(toJson(r.ok ? { ok: true, from, entries: r.entries.map(({ configDescriptor: _c, subjectPublicKey: _k, ...e }) => e) } : { ok: false, from, index: r.index, reason: r.reason }));
      } else if (r.ok) {
        io.out(`DICE chain (${from}): valid, root key + ${r.entries.length} certificate${r.entries.length === 1 ? "" : "s"}`);
        for (const e of r.entries) io.out(entryLine(e));
      } else {
        io.err(`hvsim: DICE chain (${from}): invalid at entry ${r.index}: ${r.reason}`);
      }
      setCode(r.ok ? (damaged ? EXIT.input : EXIT.ok) : EXIT.finding);
    });
}
