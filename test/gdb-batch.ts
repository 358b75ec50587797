/**
 * Drives the real gdb-multiarch in batch mode, for the gdb tests: one session with the given
 * commands, its output split into sections at `echo ==NAME==` markers (`mark`).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run$ = promisify(execFile);

/** One gdb-multiarch session that connects with `connect` (a `target remote ...` line); `elf` gives the symbols. */
export async function gdbBatch(elf: string, connect: string, commands: readonly string[]): Promise<Map<string, string[]>> {
  const args = ["-q", "-batch", "-nx", "-ex", "set remotetimeout 60", "-ex", "set pagination off", "-ex", connect];
  for (const c of commands) args.push("-ex", c);
  // One pipe for both streams, so gdb's own messages and the stub's console output (O packets,
  // which gdb writes to stderr) stay in order.
  const { stdout } = await run$("sh", ["-c", 'exec gdb-multiarch "$@" 2>&1', "sh", ...args, elf], { timeout: 120_000, maxBuffer: 1 << 24 });
  const sections = new Map<string, string[]>();
  let current = "start";
  for (const line of stdout.split("\n")) {
    const m = /^==(\w+)==$/.exec(line);
    if (m !== null) current = m[1]!;
    else sections.set(current, [...(sections.get(current) ?? []), line]);
  }
  return sections;
}

/** The gdb command that starts a section named `name` in `gdbBatch`'s result. */
export const mark = (name: string): string => `echo ==${name}==\\n`;

/** `info registers` lines as name -> value (the hex column). */
export function registersOf(lines: readonly string[] | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const l of lines ?? []) {
    const m = /^(\w+)\s+(0x[0-9a-f]+)\s/.exec(l);
    if (m !== null) out.set(m[1]!, BigInt(m[2]!));
  }
  return out;
}
