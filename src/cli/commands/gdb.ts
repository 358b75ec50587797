import type { Command } from "commander";
import { basename } from "node:path";
import { die } from "../../core/errors.ts";
import { describeEvent } from "../../export/describe.ts";
import { TraceTarget } from "../../gdb/trace/target.ts";
import type { Position } from "../../timetravel/positions.ts";
import { serveStdio, serveTcp } from "../gdb-serve.ts";
import { parseIntOption } from "../files.ts";
import type { Io } from "../io.ts";
import { exitAfterDamage, withTrace } from "../target.ts";

/** `hvsim gdb TRACE`: gdb-multiarch on a recorded trace's guests, forward and backward (docs/gdb.md). */
export function registerGdb(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("gdb")
    .description("debug a trace's guest vCPUs with gdb, forward and backward: a GDB remote stub on 127.0.0.1 (or stdio)")
    .argument("<trace>", "a trace with guest code (vcpu_exec events), e.g. from hvsim record vm-code-minimal")
    .option("--port <n>", "TCP port on 127.0.0.1 (0 picks a free one and prints it)", "0")
    .option("--stdio", "speak the protocol on stdin/stdout instead, for gdb's `target remote | COMMAND`")
    .option("--vm <id>", "only this VM's vCPUs (hex 0x.. or decimal)")
    .option("--at <n[+k]>", "start after event N (+K: K instructions into event N+1) instead of before the first guest instruction")
    .addHelpText(
      "after",
      "\nEach vCPU that runs guest code is a gdb thread; registers and memory (through the VM's stage-2) are\n" +
        "read at the current position, which is an event boundary or a point between two instructions of a\n" +
        "vcpu_exec. stepi, continue, reverse-stepi and reverse-continue move through the recording; breakpoints\n" +
        "and watchpoints are evaluated by re-running each exec beside it. Nothing can be written: it is history.\n" +
        "monitor help lists hvsim's own commands (event, goto, s2, rm vm, check). See docs/gdb.md.\n" +
        "\nExamples:\n" +
        `  hvsim record vm-code-minimal --seed 1 -o out/minimal.hvt\n` +
        `  gdb-multiarch guests/bin/minimal.elf -ex 'target remote | hvsim gdb out/minimal.hvt --stdio'\n` +
        `  hvsim gdb out/minimal.hvt --port 1234     # then in gdb-multiarch: target remote 127.0.0.1:1234`,
    )
    .action(async (file: string, opts: { port: string; stdio?: boolean; vm?: string; at?: string }) => {
      const port = parseIntOption("--port", opts.port, 0);
      if (port > 65535) die("ARGUMENT_INVALID", `--port: expected a TCP port (0..65535), got '${opts.port}'`);
      const vm = opts.vm === undefined ? undefined : vmOption(opts.vm);
      const code = await withTrace(io, file, async (trace) => {
        const seeker = trace.seeker();
        const start = opts.at === undefined ? undefined : atOption(opts.at, trace.count);
        let target: TraceTarget;
        try {
          target = new TraceTarget({ name: basename(file), seeker, describe: (i) => describeEvent(seeker.event(i), seeker.store.outcome(i)), ...(vm === undefined ? {} : { vm }), ...(start === undefined ? {} : { start }) });
        } catch (e) {
          if (e instanceof RangeError) die("ARGUMENT_INVALID", `${file}: ${e.message}`);
          throw e;
        }
        const log = (line: string): void => io.err(`hvsim gdb: ${line}`);
        const served = opts.stdio ? await serveStdio(target, log) : await serveTcp(target, port, file, (p) => `gdb-multiarch guests/bin/IMAGE.elf -ex 'target remote 127.0.0.1:${p}'`, io, log);
        return exitAfterDamage(trace, served);
      }, { reads: "asked" });
      setCode(code);
    });
}

function vmOption(raw: string): number {
  const n = /^0x[0-9a-f]+$/i.test(raw) ? Number.parseInt(raw, 16) : /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n)) die("ARGUMENT_INVALID", `--vm: expected a VM id (hex 0x.. or decimal), got '${raw}'`);
  return n;
}

function atOption(raw: string, count: number): Position {
  const m = /^(-1|\d+)(?:\+(\d+))?$/.exec(raw);
  if (m === null) die("ARGUMENT_INVALID", `--at: expected N or N+K (an event index, K instructions into the next), got '${raw}'`);
  const event = Number(m[1]);
  if (event >= count) die("ARGUMENT_INVALID", `--at: no event ${event}: the trace has events 0..${count - 1}`);
  return { event, insns: m[2] === undefined ? 0 : Number(m[2]) };
}
