import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { EXIT_TABLE } from "../src/cli/exit.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { pvmBootScenario } from "../src/sim/builtin/pvm.ts";
import { builtinScenario } from "../src/sim/builtin/index.ts";
import { writeTraceFromEvents } from "../src/trace/rewrite.ts";
import { fileSink } from "../src/trace/source.ts";
import { FRAME_BYTES } from "../src/trace/format.ts";
import { openTrace } from "../src/timetravel/open.ts";
import { verifiedStateAt } from "../src/timetravel/state-at.ts";
import { handoverBcc } from "../src/model/pvmfw/boot.ts";
import { cli, hasStackTrace, readerOf, recordBytes, tempDir } from "./helpers.ts";

/**
 * The exit-code table (src/cli/exit.ts EXIT_TABLE), command by command: every code the table
 * promises has a case here that produces it, and every case's code is in the table.
 */
const dir = tempDir();
const f = (name: string) => join(dir, name);
const avb = (name: string) => join("test/fixtures/avb", name);

beforeAll(() => {
  const smoke = recordBytes(smokeScenario, { seed: 1, maxEvents: 1500, blockEvents: 256 });
  writeFileSync(f("smoke.hvt"), smoke);
  writeFileSync(f("smoke2.hvt"), recordBytes(smokeScenario, { seed: 2, maxEvents: 1500, blockEvents: 256 }));
  writeFileSync(f("pvm.hvt"), recordBytes(pvmBootScenario, { seed: 1 }));
  writeFileSync(f("bug.hvt"), recordBytes(builtinScenario("bug-reclaim-without-sanitise")!, { seed: 1 }));
  // One flipped byte in the second block; and the same trace cut short.
  const second = [...readerOf(smoke).items()].filter((i) => i.type === "block")[1]!;
  const flipped = Buffer.from(smoke);
  flipped[second.offset + FRAME_BYTES + 30]! ^= 0xff;
  writeFileSync(f("flipped.hvt"), flipped);
  writeFileSync(f("cut.hvt"), smoke);
  truncateSync(f("cut.hvt"), Math.floor(smoke.length * 0.6));
  // A trace whose stored outcome for event 300 this build does not compute.
  const reader = readerOf(smoke);
  const events = [...reader.events()];
  writeTraceFromEvents(fileSink(f("divergent.hvt")), { ...reader.header, generator: "test" }, events.map(({ ev, outcome }) => ({ ev, outcome: ev.seq === 300 ? { ...outcome, edited: 1 } : outcome })), { blockEvents: 256, snapshotEveryBlocks: 16 });
  // A DICE chain with a flipped bit in the last certificate's signature.
  const pvm = openTrace(readerOf(readFileSync(f("pvm.hvt"))));
  const chain = handoverBcc(verifiedStateAt(pvm).pvm.vms.byId[0x80]!.handover!).slice();
  chain[chain.length - 5]! ^= 1;
  writeFileSync(f("bad.cbor"), chain);
  writeFileSync(f("junk.bin"), "not a trace, not CBOR, not a scenario");
  writeFileSync(f("guest.hvt"), recordBytes(builtinScenario("vm-code-minimal")!, { seed: 1 }));
  // mov x0, #1; brk #0 (a raw binary, loaded at 0x80000).
  writeFileSync(f("brk.bin"), Buffer.from([0x20, 0x00, 0x80, 0xd2, 0x00, 0x00, 0x20, 0xd4]));
});

/** A server command, stopped as Ctrl-C stops it once it says it is serving. */
type Interrupt = { readonly interruptOnce: RegExp };

const CASES: readonly (readonly [command: string, code: number, argv: () => string[], stdin?: string[] | Interrupt])[] = [
  ["run", 0, () => ["run", "smoke", "-o", f("run.hvt")]],
  ["run", 1, () => ["run", "bug-reclaim-without-sanitise", "-o", f("run-bug.hvt")]],
  ["run", 2, () => ["run", "pvm-bot"]],
  ["record", 0, () => ["record", "smoke", "--max-events", "100", "-o", f("r.hvt")]],
  ["record", 2, () => ["record", "smoke", "--until", "5", "-o", f("r5.hvt")]],
  ["replay", 0, () => ["replay", f("smoke.hvt")]],
  ["replay", 1, () => ["replay", f("bug.hvt"), "--check"]],
  ["replay", 2, () => ["replay", f("flipped.hvt")]],
  ["replay", 3, () => ["replay", f("divergent.hvt")]],
  ["info", 0, () => ["info", f("smoke.hvt")]],
  ["info", 2, () => ["info", f("cut.hvt")]],
  ["log", 0, () => ["log", f("smoke.hvt"), "--to", "20"]],
  ["log", 2, () => ["log", f("smoke.hvt"), "--from", "999999"]],
  ["state", 0, () => ["state", f("flipped.hvt"), "--at", "10", "--path", "seq"]],
  ["state", 2, () => ["state", f("smoke.hvt"), "--at", "10", "--path", "nope"]],
  ["state", 3, () => ["state", f("divergent.hvt"), "--at", "end"]],
  ["check", 0, () => ["check", f("smoke.hvt")]],
  ["check", 1, () => ["check", f("bug.hvt")]],
  ["check", 2, () => ["check", f("junk.bin")]],
  ["check", 3, () => ["check", f("divergent.hvt")]],
  ["scenarios", 0, () => ["scenarios"]],
  ["fuzz", 0, () => ["fuzz", "--scenario", "smoke", "--seeds", "1..2", "--max-events", "200", "--keep", f("fz")]],
  ["fuzz", 1, () => ["fuzz", "--scenario", "smoke", "--seeds", "1..1", "--max-events", "200", "--assert", "seq < 10", "--keep", f("fz")]],
  ["fuzz", 2, () => ["fuzz", "--scenario", "smoke", "--seeds", "9..1"]],
  ["avb verify", 0, () => ["avb", "verify", avb("kernel_signed_ri5.img"), "--key", avb("pvmfw_key_rsa2048.avbpubkey")]],
  ["avb verify", 1, () => ["avb", "verify", avb("kernel_signed_otherkey.img"), "--key", avb("pvmfw_key_rsa2048.avbpubkey")]],
  ["avb verify", 2, () => ["avb", "verify", avb("kernel_signed_ri5.img"), "--key", "README.md"]],
  ["bcc verify", 0, () => ["bcc", "verify", f("pvm.hvt")]],
  ["bcc verify", 1, () => ["bcc", "verify", f("bad.cbor")]],
  ["bcc verify", 2, () => ["bcc", "verify", f("junk.bin")]],
  ["debug", 0, () => ["debug", f("smoke.hvt")], ["goto 10", "quit"]],
  ["debug", 2, () => ["debug", f("flipped.hvt")], ["goto 300", "quit"]],
  ["bisect", 0, () => ["bisect", f("smoke.hvt"), "--until", "seq > 100000"]],
  ["bisect", 1, () => ["bisect", f("smoke.hvt"), "--until", "hypercallCounts.0x33 >= 3"]],
  ["bisect", 2, () => ["bisect", f("pvm.hvt"), "--until", "rm.vms.ids[0] == 128"]],
  ["bisect --exit-code", 0, () => ["bisect", f("smoke.hvt"), "--until", "seq > 100000", "--exit-code"]],
  ["bisect --exit-code", 1, () => ["bisect", f("smoke.hvt"), "--until", "hypercallCounts.0x33 >= 3", "--exit-code"]],
  ["bisect --exit-code", 125, () => ["bisect", f("cut.hvt"), "--until", "seq > 100000", "--exit-code"]],
  ["bisect --exit-code", 128, () => ["bisect", f("smoke.hvt"), "--until", "seq >", "--exit-code"]],
  ["diff", 0, () => ["diff", f("smoke.hvt"), f("smoke.hvt")]],
  ["diff", 1, () => ["diff", f("smoke.hvt"), f("smoke2.hvt")]],
  ["diff", 2, () => ["diff", f("cut.hvt"), f("smoke.hvt")]],
  ["minimize", 0, () => ["minimize", f("smoke.hvt"), "--until", "hypercallCounts.0x33 >= 3", "-o", f("min.hvt")]],
  ["minimize", 2, () => ["minimize", f("smoke.hvt"), "--until", "seq > 100000", "-o", f("min2.hvt")]],
  ["export", 0, () => ["export", f("smoke.hvt"), "--format", "json", "-o", f("e.jsonl")]],
  ["export", 2, () => ["export", f("flipped.hvt"), "--format", "json", "-o", f("e2.jsonl")]],
  ["repair", 0, () => ["repair", f("cut.hvt"), "-o", f("repaired.hvt")]],
  ["repair", 2, () => ["repair", f("smoke.hvt"), "-o", f("smoke.hvt")]],
  ["abi", 0, () => ["abi", "vcpu_run"]],
  ["abi", 2, () => ["abi", "vcpu_rnu_rnu"]],
  ["view", 0, () => ["view", f("smoke.hvt"), "--port", "0"], { interruptOnce: /^serving http:\/\/127\.0\.0\.1:\d+\/ / }],
  ["view", 2, () => ["view", f("junk.bin"), "--port", "0"]],
  ["gdb", 0, () => ["gdb", f("guest.hvt"), "--port", "0"], { interruptOnce: /^hvsim: gdb server for .* listening on 127\.0\.0\.1:\d+$/ }],
  ["gdb", 2, () => ["gdb", f("smoke.hvt"), "--port", "0"]],
  ["cpu run", 0, () => ["cpu", "run", f("brk.bin")]],
  ["cpu run", 1, () => ["cpu", "run", f("brk.bin"), "--max-insns", "1"]],
  ["cpu run", 2, () => ["cpu", "run", f("brk.bin"), "--entry", "nosuch"]],
  ["cpu disas", 0, () => ["cpu", "disas", f("brk.bin")]],
  ["cpu disas", 2, () => ["cpu", "disas", f("nope.bin")]],
  ["cpu gdb", 0, () => ["cpu", "gdb", f("brk.bin"), "--port", "0"], { interruptOnce: /^hvsim: gdb server for .* listening on 127\.0\.0\.1:\d+$/ }],
  ["cpu gdb", 2, () => ["cpu", "gdb", f("nope.bin"), "--port", "0"]],
];

describe("exit codes, command by command (EXIT_TABLE)", () => {
  it("every code in the table has a case, and every case's code is in the table", () => {
    const promised = Object.entries(EXIT_TABLE).flatMap(([cmd, codes]) => Object.keys(codes).map((c) => `${cmd} ${c}`));
    const covered = CASES.map(([cmd, code]) => `${cmd} ${code}`);
    expect([...new Set(covered)].sort()).toEqual(promised.sort());
  });

  for (const [command, code, argv, stdin] of CASES) {
    it(`${command} exits ${code}: ${EXIT_TABLE[command]![code]}`, async () => {
      const r = stdin === undefined ? await cli(...argv()) : Array.isArray(stdin) ? await cliWithStdin(argv(), stdin) : await cliInterrupted(argv(), stdin.interruptOnce);
      expect(r.code, [...r.stdout.slice(0, 3), ...r.stderr].join("\n")).toBe(code);
      expect(hasStackTrace([...r.stdout, ...r.stderr])).toBe(false);
      // Failing codes say why in one line on stderr (a violation or a difference may say it on stdout).
      if (code === 2 || code === 3 || code === 125 || code === 128) expect(r.stderr.some((l) => /^hvsim: |^error: /.test(l))).toBe(true);
    });
  }
});

describe("servers on a port in use", () => {
  it("view, gdb and cpu gdb each say so in the same one line and exit 2", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = String((blocker.address() as AddressInfo).port);
    try {
      for (const argv of [["view", f("smoke.hvt")], ["gdb", f("guest.hvt")], ["cpu", "gdb", f("brk.bin")]]) {
        const r = await cli(...argv, "--port", port);
        expect(r.code, argv[0]).toBe(2);
        expect(r.stderr, argv[0]).toEqual([`hvsim: port ${port} on 127.0.0.1 is in use (--port 0 picks a free one)`]);
      }
    } finally {
      blocker.close();
    }
  });
});

async function cliWithStdin(argv: string[], stdin: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const { main } = await import("../src/cli/main.ts");
  const { memoryIo } = await import("../src/cli/io.ts");
  const io = memoryIo(stdin);
  const code = await main(["node", "hvsim", ...argv], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/**
 * Runs a serving command in-process and, once a line of its stdout matches, calls the SIGINT
 * handlers it registered (only those: the test runner's own stay untouched), as Ctrl-C would.
 */
async function cliInterrupted(argv: string[], serving: RegExp): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const { main } = await import("../src/cli/main.ts");
  const { memoryIo } = await import("../src/cli/io.ts");
  const before = { SIGINT: process.rawListeners("SIGINT"), SIGTERM: process.rawListeners("SIGTERM") };
  const io = memoryIo();
  const running = main(["node", "hvsim", ...argv], io);
  let finished = false;
  void running.finally(() => (finished = true));
  for (let waited = 0; !finished && !io.stdout.some((l) => serving.test(l)); waited += 10) {
    if (waited > 30_000) throw new Error(`never started serving: ${[...io.stdout, ...io.stderr].join(" | ")}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!finished) {
    for (const l of process.rawListeners("SIGINT")) if (!before.SIGINT.includes(l)) (l as (s: string) => void)("SIGINT");
  }
  const code = await running;
  for (const l of process.rawListeners("SIGTERM")) if (!before.SIGTERM.includes(l)) process.off("SIGTERM", l as () => void);
  return { code, stdout: io.stdout, stderr: io.stderr };
}
