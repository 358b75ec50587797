import { checkInvariants } from "../../core/invariants.ts";
import { disassemble } from "../../cpu/index.ts";
import { hvModel } from "../../model/machine.ts";
import { ownerName } from "../../model/rm/owner.ts";
import { translate } from "../../model/memory/stage2.ts";
import { focusThread, instructionAtPc, retiredBy } from "../../timetravel/positions.ts";
import { readableText } from "../../timetravel/readable.ts";
import type { MonitorReply } from "../target.ts";
import { positionText, type TraceTarget } from "./target.ts";

/**
 * `monitor ...` on a trace: hvsim's view of the machine at gdb's position, a command away. The
 * event line is the one `hvsim log` prints (the CLI hands its describer over: src/export sits above
 * this room).
 */

const hex = (v: number): string => `0x${v.toString(16)}`;

const HELP = [
  "hvsim monitor commands (a recorded trace):",
  "  monitor where        the position (event, instructions into it), the thread's PC and instruction",
  "  monitor event        the event at the position, as hvsim log prints it (the one running, or the last one done)",
  "  monitor goto N[+K]   go to the state after event N (K: K instructions into event N+1, a vcpu_exec)",
  "  monitor s2 IPA       the stage-2 translation of IPA in the thread's VM: PA, access, memextent, owner",
  "  monitor rm vm V      the Resource Manager's record of VM V (hex 0x.. or decimal)",
  "  monitor check        the model's invariants at the position",
  "  monitor info         what is being debugged",
].join("\n");

export function traceMonitor(target: TraceTarget, command: string, thread: number, describe: (i: number) => string): MonitorReply {
  const [verb = "", ...args] = command.split(/\s+/).filter((w) => w !== "");
  switch (verb) {
    case "":
    case "help":
      return { output: HELP };
    case "where":
      return { output: where(target, thread) };
    case "event":
      return { output: eventAt(target, describe) };
    case "goto":
      return goto(target, args, thread, describe);
    case "s2":
      return { output: s2(target, args, thread) };
    case "rm":
      return { output: rmVm(target, args) };
    case "check": {
      const f = checkInvariants(target.state, hvModel.invariants);
      return { output: f === null ? `ok: ${hvModel.invariants.length} invariants hold at ${positionText(target.pos)}` : `violation at ${positionText(target.pos)}: ${f.invariant}: ${f.detail} [${f.path}]${f.objects ? ` ${readableText(f.objects)}` : ""}` };
    }
    case "info":
      return { output: target.description };
    default:
      return { output: `unknown monitor command '${verb}'\n${HELP}` };
  }
}

function where(target: TraceTarget, thread: number): string {
  const p = target.pos;
  const v = target.vcpu(thread);
  const inside = p.insns > 0 ? `, ${p.insns} of the ${retiredBy(target.seeker, p.event + 1)} instructions of event #${p.event + 1} done` : "";
  const at = `at ${positionText(p)} (after event #${p.event}${inside}) of ${target.seeker.count} events`;
  if (v === undefined) return at;
  const t = focusThread(target.state, v);
  const who = `vm${hex(v.vm)}/vcpu${v.vcpu}`;
  if (t === undefined) return `${at}; ${who} does not exist here (not created yet, or torn down)`;
  const i = instructionAtPc(target.state, v, t.cpu);
  return `${at}; ${who} pc ${hex(i.pc)}: ${i.word === null ? i.text : disassemble(i.word, i.pc).replace("\t", " ")}`;
}

function eventAt(target: TraceTarget, describe: (i: number) => string): string {
  const p = target.pos;
  if (p.insns > 0) return `inside: ${describe(p.event + 1)}\n(${p.insns} of its instructions done)`;
  if (p.event < 0) return "#-1 genesis (no event yet)";
  return describe(p.event);
}

function goto(target: TraceTarget, args: readonly string[], thread: number, describe: (i: number) => string): MonitorReply {
  const m = /^#?(-1|\d+)(?:\+(\d+))?$/.exec(args[0] ?? "");
  if (m === null || args.length !== 1) return { output: "usage: monitor goto N[+K] (an event index, -1 for genesis; +K: K instructions into the next event)" };
  const event = Number(m[1]);
  const insns = m[2] === undefined ? 0 : Number(m[2]);
  const count = target.seeker.count;
  if (event >= count) return { output: `no event ${event}: the trace has events 0..${count - 1}` };
  if (insns > 0) {
    const r = event + 1 < count && target.seeker.event(event + 1).kind === "vcpu_exec" ? retiredBy(target.seeker, event + 1) : 0;
    if (insns >= r) return { output: r === 0 ? `event #${event + 1} runs no guest instructions: monitor goto ${event} or ${event + 1}` : `event #${event + 1} runs ${r} instructions: K must be 1..${r - 1}` };
  }
  const missing = target.withoutRegisters({ event, insns });
  if (missing !== null) return { output: missing };
  target.moveTo({ event, insns });
  return { output: `${eventAt(target, describe)}\n${where(target, thread)}`, moved: true };
}

function parseNumber(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.replace(/_/g, "");
  const n = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : Number.NaN;
  return Number.isSafeInteger(n) ? n : null;
}

const RIGHTS = (a: number): string => `${a & 4 ? "R" : "-"}${a & 2 ? "W" : "-"}${a & 1 ? "X" : "-"}`;

function s2(target: TraceTarget, args: readonly string[], thread: number): string {
  const ipa = parseNumber(args[0]);
  if (ipa === null) return "usage: monitor s2 IPA (an intermediate physical address in the thread's VM, e.g. 0x80001000)";
  const v = target.vcpu(thread);
  if (v === undefined) return "no thread selected";
  const who = `vm${hex(v.vm)}`;
  if (target.state.vms[v.vm] === undefined) return `${who} does not exist at ${positionText(target.pos)}`;
  const tr = translate(target.state, v.vm, ipa);
  if (tr === null) return `${who} IPA ${hex(ipa)}: not mapped in its stage-2 at ${positionText(target.pos)} (an access there faults to Gunyah)`;
  const owner = ownerName(target.state, tr.pa) ?? "nobody (memdb)";
  return `${who} IPA ${hex(ipa)} -> PA ${hex(tr.pa)} ${RIGHTS(tr.access)} memextent ${hex(tr.memextent)}, owner ${owner}`;
}

function rmVm(target: TraceTarget, args: readonly string[]): string {
  if (args[0] !== "vm") return "usage: monitor rm vm V (the RM's record of VM V)";
  const id = parseNumber(args[1]);
  const vms = target.state.rm.vms;
  if (id === null) return `usage: monitor rm vm V; the RM knows VMs ${vms.ids.map(hex).join(", ") || "(none)"}`;
  const vm = vms.byId[id];
  if (vm === undefined) return `the RM has no VM ${hex(id)} at ${positionText(target.pos)} (it knows ${vms.ids.map(hex).join(", ") || "none"})`;
  return `rm.vms.${hex(id)} at ${positionText(target.pos)}:\n${readableText(vm, 2)}`;
}
