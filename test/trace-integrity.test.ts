/**
 * A trace never says it is whole when it is not: damage at every byte of the footer and trailer,
 * bytes after the end, and a corpus of traces edited by hand with every checksum right, each run
 * through every command that reads a trace.
 */
import { describe, expect, it, vi } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { RecordType, recordTypeName } from "../src/trace/format.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { openTraceFile } from "../src/cli/target.ts";
import { TraceReader } from "../src/trace/reader.ts";
import { memoryIo } from "../src/cli/io.ts";
import { cli, hasStackTrace, readerOf, recordBytes, tempDir } from "./helpers.ts";
import { assemble, indexOfType, nestedList, rawBody, splitTrace, type EditableRecord } from "./trace-edit.ts";

const dir = tempDir();
// For the corpus: 60 events in blocks of 16 (16, 16, 16, 12), a snapshot every 2nd checkpoint.
const bytes = recordBytes(smokeScenario, { seed: 7, maxEvents: 60, blockEvents: 16, snapshotEveryBlocks: 2 });
const original = join(dir, "original.hvt");
writeFileSync(original, bytes);
// For the byte sweeps: two blocks, so the footer and trailer are short (every byte is tried).
const small = recordBytes(smokeScenario, { seed: 7, maxEvents: 24, blockEvents: 12, snapshotEveryBlocks: 2 });
const footerAt = readerOf(small).footer()!.offset;

const write = (name: string, b: Uint8Array): string => {
  const f = join(dir, name);
  writeFileSync(f, b);
  return f;
};
const lines = (r: { stdout: string[]; stderr: string[] }): string[] => [...r.stdout, ...r.stderr];

describe("the end of the file is checked", () => {
  it("the original is whole: replay, info and check exit 0", async () => {
    for (const cmd of ["replay", "info", "check"]) expect((await cli(cmd, original)).code).toBe(0);
  });

  it("a cut at every byte of the footer and trailer is an incomplete trace, named with its 2 blocks and 24 events; --allow-incomplete accepts it", async () => {
    for (let at = footerAt; at < small.length; at++) {
      const f = write("cut.hvt", small.subarray(0, at));
      for (const cmd of ["replay", "info", "check"]) {
        const r = await cli(cmd, f);
        expect(r.code, `${cmd} cut at ${at}`).toBe(2);
        // Said once on stderr, as every command says it when it opens the trace (info's report repeats it on stdout).
        const said = r.stderr.filter((l) => l.includes("the recording did not finish"));
        const inFooter = at < small.length - 20;
        expect(said, `${cmd} cut at ${at}`).toEqual([
          expect.stringMatching(inFooter ? /no footer after 2 whole blocks \(24 events\)/ : /2 whole blocks \(24 events\) and the footer; the (file ends after the footer|trailer at offset \d+ is cut short)/),
        ]);
      }
      if ((at - footerAt) % 5 === 0) {
        for (const cmd of ["replay", "check"]) {
          const r = await cli(cmd, f, "--allow-incomplete");
          expect(r.code, `${cmd} --allow-incomplete cut at ${at}`).toBe(0);
          expect(r.stderr).toEqual([expect.stringMatching(/incomplete trace: the recording did not finish/)]);
        }
      }
    }
  });

  it("a flipped byte anywhere in the footer or trailer is damage named with its offset: exit 2, also with --allow-incomplete", async () => {
    for (let at = footerAt; at < small.length; at++) {
      const d = Buffer.from(small);
      d[at]! ^= 0xa5;
      const f = write("flip.hvt", d);
      for (const args of [["replay", f], ["info", f], ["check", f], ...((at - footerAt) % 5 === 0 ? [["replay", f, "--allow-incomplete"]] : [])]) {
        const r = await cli(...args);
        expect(r.code, `${args.join(" ")} flipped at ${at}`).toBe(2);
        const named = r.stderr.filter((l) => /damaged at byte offset \d+/.test(l));
        expect(named.length, `${args.join(" ")} flipped at ${at}: ${lines(r).join(" | ")}`).toBe(1);
        if (args[0] === "info") expect(r.stdout.filter((l) => /^integrity  DAMAGED at byte offset \d+/.test(l))).toHaveLength(1);
        expect(hasStackTrace(lines(r))).toBe(false);
      }
    }
  });

  it("bytes after the trailer are damage at the offset where the trace ended; everything before still verifies", async () => {
    for (const extra of [Buffer.from([0]), Buffer.alloc(7, 0x41), bytes.subarray(bytes.length - 20), Buffer.alloc(300, 0)]) {
      const f = write("appended.hvt", Buffer.concat([bytes, extra]));
      const rep = await cli("replay", f);
      expect(rep.code).toBe(2);
      expect(rep.stdout.at(-1)).toMatch(/^replayed 60 events/);
      expect(rep.stderr).toEqual([expect.stringContaining(`damaged at byte offset ${bytes.length} (block 4): ${extra.length} byte${extra.length === 1 ? "" : "s"} after the trailer at offset ${bytes.length - 20}`)]);
      const info = await cli("info", f);
      expect(info.code).toBe(2);
      expect(info.stdout).toContainEqual(expect.stringMatching(new RegExp(`^integrity  DAMAGED at byte offset ${bytes.length} `)));
      expect((await cli("check", f)).code).toBe(2);
    }
  });

  it("replay and check decode a trace once: the count from its footer, damage in a block said when the stream meets it", async () => {
    const io = memoryIo();
    const whole = openTraceFile(io, original, { reads: "streamed" });
    expect([whole.store.index, whole.count, whole.damage, io.stderr]).toEqual(["footer", 60, null, []]);
    whole.close();
    // One pass over the records: the replay's own (an opening scan would be a second).
    const passes = vi.spyOn(TraceReader.prototype, "items");
    for (const cmd of ["replay", "check"]) expect((await cli(cmd, original)).code, cmd).toBe(0);
    expect(passes).toHaveBeenCalledTimes(2);
    passes.mockRestore();
    // A flipped byte inside block 2 (its checksum no longer matches), the footer and trailer intact.
    const at = readerOf(bytes).footer()!.blocks[2]![0];
    const d = Buffer.from(bytes);
    d[at + 20]! ^= 0x5a;
    const f = write("block2-flip.hvt", d);
    for (const cmd of ["replay", "check"]) {
      const r = await cli(cmd, f);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toEqual([`hvsim: ${f}: damaged at byte offset ${at} (block 2): checksum mismatch in the block record at offset ${at}; using the 32 whole events before it`]);
      if (cmd === "replay") expect(r.stdout.at(-1)).toMatch(/^replayed 32 events on the fast path/);
    }
    // Without a usable footer the scan is the index, and nothing more is said than the damage.
    const cut = write("no-trailer.hvt", bytes.subarray(0, bytes.length - 3));
    const io2 = memoryIo();
    const scanned = openTraceFile(io2, cut, { reads: "streamed", incomplete: "offer" });
    expect([scanned.store.index, scanned.count, scanned.damage?.code]).toEqual(["scan", 60, "TRACE_INCOMPLETE"]);
    expect(io2.stderr).toHaveLength(1);
    expect(io2.stderr[0]).not.toContain("no usable footer index");
    scanned.close();
  });

  it("info --verify and info on a trace without a usable footer read the file once, and say what one scan found", async () => {
    const cut = write("no-trailer-info.hvt", bytes.subarray(0, bytes.length - 3));
    const passes = vi.spyOn(TraceReader.prototype, "items");
    const verified = await cli("info", original, "--verify");
    const scanned = await cli("info", cut);
    expect(passes).toHaveBeenCalledTimes(2);
    passes.mockRestore();
    expect(verified.code).toBe(0);
    for (const r of [verified, scanned]) expect(r.stdout).toContain("events     60 in 4 blocks of up to 16");
    expect(verified.stdout).toContainEqual(expect.stringMatching(/^integrity  ok: every record's checksum and place verified; the footer index agrees with the file and the trailer ends it; \d+ stored states? rebuilt, each hashing to its checkpoint's hash$/));
    expect(scanned.code).toBe(2);
    expect(scanned.stdout).toContainEqual(expect.stringMatching(/^integrity  INCOMPLETE: the recording did not finish: 4 whole blocks \(60 events\) and the footer; the trailer at offset \d+ is cut short \(17 of 20 bytes\)$/));
  });

  it("a format 1 trace (no trailer checksum) still reads, replays, and says its format", async () => {
    const f = "test/fixtures/format1/smoke-s7.hvt";
    const info = await cli("info", f);
    expect(info.code).toBe(0);
    expect(info.stdout[0]).toMatch(/format 1: msgpack records, older than this build's 4: read, never written\)$/);
    expect(info.stdout).toContainEqual(expect.stringMatching(/^events {5}600 in 5 blocks/));
    // Its trailer is checked by structure: a flipped offset byte is still found.
    const d = Buffer.from(readFileSync(f));
    d[d.length - 3]! ^= 1;
    const r = await cli("info", write("v1-flip.hvt", d));
    expect(r.code).toBe(2);
    expect(r.stdout).toContainEqual(expect.stringMatching(/the trailer at offset \d+ points at offset \d+, but the footer is at offset \d+/));
  });
});

/** Hand edits with every checksum right: what each one does to the file. */
function corpus(): [string, Buffer][] {
  const base = (): EditableRecord[] => splitTrace(bytes);
  const header = 0;
  const block = (rs: EditableRecord[], n: number) => rs[indexOfType(rs, RecordType.block, n)]!.body as { first: number; t0: number; events: Record<string, unknown>[]; outcomes: Record<string, unknown>[] };
  const footer = (rs: EditableRecord[]) => rs[indexOfType(rs, RecordType.footer, 0)]!.body as Record<string, unknown> & { blocks: number[][]; checkpoints: number[][] };
  const edit = (f: (rs: EditableRecord[]) => void, footerMode: "keep" | "rebuild" = "rebuild"): Buffer => {
    const rs = base();
    f(rs);
    return assemble(rs, { footer: footerMode });
  };
  const h = (rs: EditableRecord[]) => rs[header]!.body as Record<string, unknown>;
  let deep: unknown = 1;
  for (let i = 0; i < 1000; i++) deep = [deep];
  return [
    ["a header without a scenario", edit((rs) => void delete h(rs).scenario)],
    ["a null config", edit((rs) => void (h(rs).config = null))],
    ["a config with a billion CPUs", edit((rs) => void ((h(rs).config as { platform: { cpus: number } }).platform.cpus = 1e9))],
    ["a config with RAM near 2^53", edit((rs) => void ((h(rs).config as { platform: { ram: unknown } }).platform.ram = [{ base: 2 ** 53 - 2 ** 33, size: 2 ** 32 }]))],
    ["format version 99", edit((rs) => void (h(rs).formatVersion = 99))],
    // A header string is printed as it is: an escape sequence or a newline would redraw the terminal or forge a line.
    ["a scenario name holding an escape sequence and a newline", edit((rs) => void ((h(rs).scenario as { name: string }).name = "\u001b[31mRED\u001b[0m\nintegrity  ok"))],
    ["state hash definition 9", edit((rs) => void (h(rs).stateHash = 9))],
    ["a header with a huge block size", edit((rs) => void (h(rs).blockEvents = 2 ** 40))],
    ["an event of kind __proto__", edit((rs) => void (block(rs, 1).events[3]!.kind = "__proto__"))],
    ["an event with an own __proto__ key", edit((rs) => {
      const i = indexOfType(rs, RecordType.block, 1);
      const b = rs[i]!.body as { events: Record<string, unknown>[] };
      b.events[2] = JSON.parse('{"kind":"timer_tick","t":5,"__proto__":{"vm":1}}') as Record<string, unknown>;
      rs[i]!.raw = rawBody(b);
    })],
    ["a wrong block first", edit((rs) => void (block(rs, 2).first = 5))],
    ["a negative time delta", edit((rs) => void (block(rs, 1).events[0]!.t = -1000))],
    ["fewer outcomes than events", edit((rs) => void block(rs, 0).outcomes.pop())],
    ["a deeply nested outcome", edit((rs) => void (block(rs, 1).outcomes[0] = { x: deep }))],
    ["an outcome holding a date", edit((rs) => {
      const i = indexOfType(rs, RecordType.block, 0);
      block(rs, 0).outcomes[1] = { when: new Date(0) };
      rs[i]!.raw = rawBody(rs[i]!.body);
    })],
    ["a float in an event", edit((rs) => void (block(rs, 0).events[1]!.vcpu = 0.5))],
    ["a hypercall without a call number", edit((rs) => void (block(rs, 1).events[2]!.call = null))],
    ["a hypercall whose args are a string", edit((rs) => void (block(rs, 1).events[2]!.args = "zz"))],
    ["a checkpoint with a malformed hash", edit((rs) => void ((rs[indexOfType(rs, RecordType.checkpoint, 2)]!.body as { hash: string }).hash = "zz"))],
    ["a checkpoint after the wrong event", edit((rs) => void ((rs[indexOfType(rs, RecordType.checkpoint, 2)]!.body as { seq: number }).seq = 7))],
    ["a checkpoint removed", edit((rs) => void rs.splice(indexOfType(rs, RecordType.checkpoint, 2), 1))],
    ["a snapshot that is not a state", edit((rs) => void ((rs[indexOfType(rs, RecordType.checkpoint, 2)]!.body as { snapshot: unknown }).snapshot = [31]))],
    ["a footer listing a block twice", edit((rs) => void footer(rs).blocks.splice(1, 0, footer(rs).blocks[1]!), "keep")],
    ["a footer with a huge block count", edit((rs) => void (footer(rs).blocks[3]![2] = 1e9), "keep")],
    ["a footer claiming 10^12 events", edit((rs) => void (footer(rs).events = 1e12), "keep")],
    ["a footer with its blocks reordered", edit((rs) => void footer(rs).blocks.reverse(), "keep")],
    // Format 3's footer says what each checkpoint stores (0 nothing, 1 whole, 2 a delta): info trusts it.
    ["a footer listing a delta as a whole state", edit((rs) => void (footer(rs).checkpoints.find((c) => c[2] === 2)![2] = 1), "keep")],
    ["a footer nested 100k deep", edit((rs) => void (rs[indexOfType(rs, RecordType.footer, 0)]!.raw = nestedList(100_000)), "keep")],
    ["one block deleted, footer as it was", edit((rs) => void rs.splice(indexOfType(rs, RecordType.block, 1), 2), "keep")],
    ["one block deleted, footer rebuilt", edit((rs) => void rs.splice(indexOfType(rs, RecordType.block, 1), 2))],
    ["the last block deleted, footer as it was", edit((rs) => void rs.splice(indexOfType(rs, RecordType.block, 3), 2), "keep")],
    ["a block duplicated", edit((rs) => void rs.splice(indexOfType(rs, RecordType.block, 1), 0, ...rs.slice(indexOfType(rs, RecordType.block, 1), indexOfType(rs, RecordType.block, 1) + 2)))],
    ["two blocks swapped", edit((rs) => {
      const i = indexOfType(rs, RecordType.block, 1);
      const pair = rs.splice(i, 2);
      rs.splice(i + 2, 0, ...pair);
    })],
    ["a second header", edit((rs) => void rs.splice(3, 0, rs[0]!))],
  ];
}

/**
 * Where the checked scan finds an edit: in the header (every command refuses the file at once), in
 * the footer index (unusable: every command scans the whole file, as `replay` does), or in a record
 * (its type, and the block it is in or follows), which only a command that reads it can find.
 */
function whereEdited(b: Buffer): "header" | "index" | { readonly type: string; readonly block: number } {
  let reader: ReturnType<typeof readerOf>;
  try {
    reader = readerOf(b);
  } catch {
    return "header";
  }
  if (reader.footer() === null) return "index";
  for (const _ of reader.items());
  const d = reader.damage!;
  return { type: recordTypeName(b[d.offset]!)!, block: d.block };
}

describe("hand-edited traces (valid checksums, wrong structure) through every command that reads a trace", () => {
  const out = join(dir, "out.json");
  // Commands that read every record (or scan the whole file when they open it).
  const whole = (f: string): string[][] => [
    ["replay", f],
    ["replay", f, "--pure", "--check"],
    ["info", f, "--verify"],
    ["check", f],
    ["bisect", f, "--until", "t < 0"],
    ["diff", f, "--replay"],
    ["export", f, "--format", "json", "-o", out],
    ["export", f, "--format", "perfetto", "-o", out],
    ["minimize", f, "--until", "t < 0", "-o", join(dir, "min.hvt")],
    ["bcc", "verify", f],
  ];
  // Commands that read through a usable footer index only what they are asked for, and so find an
  // edit in a record only when they read that record: info (the footer and block 0), log (every
  // block), state --at 3 (block 0), debug with no commands (nothing), diff (blocks up to the first
  // difference, which is the edited block, and with the same events every checkpoint record).
  const asked: [string[], (where: { type: string; block: number }) => boolean][] = [
    [["info", "F"], (w) => w.type === "block" && w.block === 0],
    [["log", "F"], (w) => w.type === "block"],
    [["state", "F", "--at", "3"], (w) => w.type === "block" && w.block === 0],
    [["debug", "F"], () => false],
    [["diff", "F", original], (w) => w.type === "block" || w.type === "checkpoint"],
  ];
  const expectRefused = (args: string[], r: { code: number; stdout: string[]; stderr: string[] }): void => {
    const all = lines(r);
    expect(r.code, `${args.join(" ")}: ${all.join(" | ")}`).toBe(2);
    expect(hasStackTrace(all)).toBe(false);
    expect(r.stderr.every((l) => l.startsWith("hvsim: ")), `${args.join(" ")}: ${r.stderr.join(" | ")}`).toBe(true);
    expect(all.some((l) => /offset \d+|header/.test(l)), `${args.join(" ")}: ${all.join(" | ")}`).toBe(true);
  };

  it.each(corpus())("%s: exit 2 with the damage named wherever it is read, never a stack trace or exit 70", async (name, edited) => {
    const f = write(`${name.replace(/\W+/g, "-")}.hvt`, edited);
    const where = whereEdited(edited);
    for (const args of whole(f)) expectRefused(args, await cli(...args));
    for (const [template, reads] of asked) {
      const args = template.map((a) => (a === "F" ? f : a));
      const r = await cli(...args);
      if (where === "header" || where === "index" || reads(where)) expectRefused(args, r);
      else expect([args.join(" "), r.code, r.stderr]).toEqual([args.join(" "), 0, []]);
      // Without a usable footer index, a command that wanted it says it scanned the whole file instead.
      expect(r.stderr.filter((l) => l.includes("no usable footer index")), args.join(" ")).toHaveLength(where === "index" ? 1 : 0);
    }
  });

  it("a header string with control characters is refused in one line that shows them escaped", async () => {
    const rs = splitTrace(bytes);
    (rs[0]!.body as { scenario: { name: string } }).scenario.name = "\u001b[31mRED\nintegrity  ok";
    const f = write("escape.hvt", assemble(rs, { footer: "rebuild" }));
    const r = await cli("info", f);
    expect(r.code).toBe(2);
    expect(r.stdout).toEqual([]);
    expect(r.stderr).toHaveLength(1);
    expect(r.stderr[0]).toContain("scenario.name: expected a scenario name, got '\\u001b[31mRED\\u000aintegrity  ok'");
    expect(r.stderr[0]).not.toMatch(/[\u0000-\u001f]/);
  });

  it("a snapshot that is not the state its checkpoint hashes is refused where a seek would start from it", () => {
    // Checkpoint 2 (after event 31) stores its state as a delta from genesis (checkpoint 0), stored whole.
    const rs = splitTrace(bytes);
    expect((rs[indexOfType(rs, RecordType.checkpoint, 2)]!.body as { delta?: { baseSeq: number } }).delta?.baseSeq).toBe(-1);
    (rs[indexOfType(rs, RecordType.checkpoint, 0)]!.body as { snapshot: { extra?: number } }).snapshot.extra = 99;
    const edited = assemble(rs, { footer: "rebuild" });
    const seeker = seekerForTrace(readerOf(edited), { interval: 4 });
    expect(() => seeker.stateAt(40)).toThrowError(/the checkpoint record at offset \d+: its state \(rebuilt through 1 delta\) does not hash to its state hash [0-9a-f]{16}$/);
  });

  it("a stored state that is not what its checkpoint hashes fails replay and info --verify too, though every outcome and hash replays", async () => {
    const rs = splitTrace(bytes);
    (rs[indexOfType(rs, RecordType.checkpoint, 0)]!.body as { snapshot: { extra?: number } }).snapshot.extra = 99;
    const f = write("bad-stored-state.hvt", assemble(rs, { footer: "rebuild" }));
    const line = /^hvsim: .*bad-stored-state\.hvt: damaged at byte offset \d+ \(block 0\): the checkpoint record at offset \d+: its snapshot does not hash to its state hash [0-9a-f]{16}/;
    const replayed = await cli("replay", f);
    expect([replayed.code, replayed.stderr]).toEqual([2, [expect.stringMatching(line)]]);
    const verified = await cli("info", f, "--verify");
    expect(verified.code).toBe(2);
    expect(verified.stdout).toContainEqual(expect.stringMatching(/^integrity  DAMAGED at byte offset \d+ \(block 0\): the checkpoint record at offset \d+: its snapshot does not hash/));
    // Without --verify, info reads the footer index and block 0: it does not rebuild states.
    expect((await cli("info", f)).code).toBe(0);
  });

  it("a delta that does not fit the state it changes is refused where a seek would start from it", () => {
    const rs = splitTrace(bytes);
    (rs[indexOfType(rs, RecordType.checkpoint, 2)]!.body as { delta: { change: unknown } }).delta.change = [1, {}, ["nope"], null];
    const seeker = seekerForTrace(readerOf(assemble(rs, { footer: "rebuild" })), { interval: 4 });
    expect(() => seeker.stateAt(40)).toThrowError(/the checkpoint record at offset \d+: its delta does not fit the state it changes: snapshot: removes nope, which is not there$/);
    // Nested beyond any state (deep enough, a stack overflow if walked): named, never a crash.
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    (rs[indexOfType(rs, RecordType.checkpoint, 2)]!.body as { delta: { change: unknown } }).delta.change = deep;
    const deepSeeker = seekerForTrace(readerOf(assemble(rs, { footer: "rebuild" })), { interval: 4 });
    expect(() => deepSeeker.stateAt(40)).toThrowError(/the checkpoint record at offset \d+: its delta nests deeper than any state it could change$/);
  });

  it("a delta naming bytes its window's events did not carry is refused where a seek would start from it", () => {
    // Checkpoint 2's window is events 0..31 (after genesis, up to its own): a name outside it, or of a field that holds no bytes, is damage.
    const cases: [unknown, string][] = [
      [[1, { extra: [4, 40, "data"] }, [], null], "snapshot.extra: refers to the data of event 40: not an event of the delta's window (0..31)"],
      [[1, { extra: [4, 5, "kind"] }, [], null], "snapshot.extra: refers to the kind of event 5: that event holds no long byte array there"],
      [[1, { extra: [4, "five", "data"] }, [], null], "snapshot.extra: a malformed reference to an event's bytes"],
    ];
    for (const [change, message] of cases) {
      const rs = splitTrace(bytes);
      (rs[indexOfType(rs, RecordType.checkpoint, 2)]!.body as { delta: { change: unknown } }).delta.change = change;
      const seeker = seekerForTrace(readerOf(assemble(rs, { footer: "rebuild" })), { interval: 4 });
      expect(() => seeker.stateAt(40)).toThrowError(`its delta does not fit the state it changes: ${message}`);
    }
  });

  it("a stored outcome this build would not produce is a divergence (exit 3), listed as stored, never a crash", async () => {
    const rs = splitTrace(bytes);
    (rs[indexOfType(rs, RecordType.block, 1)]!.body as { outcomes: unknown[] }).outcomes[2] = { x: "zz" };
    const f = write("odd-outcome.hvt", assemble(rs, { footer: "rebuild" }));
    const expected: Record<string, number> = { replay: 3, log: 0, export: 0, "diff --replay": 1, diff: 1 };
    for (const args of [["replay", f], ["log", f], ["export", f, "--format", "text", "-o", join(dir, "odd.txt")], ["diff", f, "--replay"], ["diff", f, original]]) {
      const r = await cli(...args);
      const name = args[0] === "diff" ? (args[2] === "--replay" ? "diff --replay" : "diff") : args[0]!;
      expect(r.code, `${name}: ${lines(r).join(" | ")}`).toBe(expected[name]);
      expect(hasStackTrace(lines(r))).toBe(false);
    }
    const log = await cli("log", f, "--from", "18", "--to", "18");
    expect(log.stdout).toEqual([expect.stringMatching(/^#18 t=\S+ hypercall \{.*\} -> \{"x":"zz"\} \(an outcome this build does not describe\)$/)]);
  });

  it("the unedited trace passes the same commands", async () => {
    for (const args of [...whole(original), ...asked.map(([t]) => t.map((a) => (a === "F" ? original : a)))].filter((a) => a[0] !== "minimize" && a[0] !== "bcc")) {
      expect((await cli(...args)).code, args.join(" ")).toBe(0);
    }
  });
});
