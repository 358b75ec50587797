import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import { cli } from "./helpers.ts";
import { openTraceFile as openTrace } from "../src/cli/target.ts";
import { memoryIo } from "../src/cli/io.ts";
/** The reader of a trace, opened as every command opens one. */
const openTraceFile = (path: string) => openTrace(memoryIo(), path).reader;
import { checkTrace, allInvariants } from "../src/sim/check.ts";
import { perfettoLines, wholeWindow } from "../src/export/exporters.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { diffStates, withoutEnvelope } from "../src/timetravel/diff.ts";
import { ViewerSession } from "../src/viewer/session.ts";
import { startViewer, type ViewerServer } from "../src/viewer/server.ts";
import type { CpuView } from "../src/viewer/cpu-view.ts";
import type { ChromeEvent } from "../src/export/perfetto.ts";

const BUG = "traces/bug-reclaim-without-sanitise-s1.hvt";
const assets = { "index.html": Buffer.from("<!doctype html><title>t</title>"), "app.js": Buffer.from("/* js */"), "app.css": Buffer.from("/* css */") };

/** A test provider: the vCPU panel's contract, fed from the RM's boot registers of a VM's vCPU. */
const bootRegisters: CpuView = (state, vm, vcpu) => {
  const v = (state as { rm: { vms: { byId: Record<string, { vcpus: { byId: Record<string, { pc: number; x0: number }> } }> } } }).rm.vms.byId[vm]?.vcpus.byId[vcpu];
  if (v === undefined) return null;
  return {
    pc: `0x${v.pc.toString(16)}`,
    status: "EL1h",
    registers: [{ name: "x0", value: `0x${v.x0.toString(16)}` }],
    instructions: [{ address: `0x${v.pc.toString(16)}`, word: "d503201f", text: "nop", atPc: true }],
  };
};

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: any;
}

function call(server: ViewerServer, path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: server.port, path, method: opts.method ?? "GET", headers: { host: opts.host ?? `127.0.0.1:${server.port}` } },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => {
          let json: unknown = null;
          try {
            json = JSON.parse(body);
          } catch {
            // not JSON: a page asset
          }
          resolve({ status: res.statusCode!, headers: res.headers, body, json });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("hvsim view: the API over a recorded bug trace", () => {
  let server: ViewerServer;
  let session: ViewerSession;
  const get = (p: string) => call(server, p);

  beforeAll(async () => {
    session = new ViewerSession(openTraceFile(BUG), { cpuViews: [bootRegisters] });
    server = await startViewer(session, assets, { port: 0 });
    session.scan.runToEnd();
  });
  afterAll(async () => {
    await server.close();
    session.reader.close();
  });

  it("listens on 127.0.0.1 only and serves the page from memory", async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const page = await get("/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.body).toBe("<!doctype html><title>t</title>");
    expect((await get("/app.js")).body).toBe("/* js */");
  });

  it("finds the first violation at the event hvsim check names", async () => {
    const reader = openTraceFile(BUG);
    const expected = checkTrace(reader, allInvariants()).violation!;
    reader.close();
    const r = await get("/api/status");
    expect(r.status).toBe(200);
    expect(r.json.phase).toBe("done");
    expect(r.json.firstViolation).toMatchObject({ invariant: expected.invariant, index: expected.index, kind: expected.kind, path: expected.path });
    expect(r.json.firstViolation.index).toBe(235);
    const inv = await get("/api/invariants?at=235");
    const broken = inv.json.invariants.filter((i: { holds: boolean }) => !i.holds).map((i: { name: string }) => i.name);
    expect(broken).toEqual(["isolation.reclaimed_memory_sanitised"]);
    const before = await get("/api/invariants?at=234");
    expect(before.json.invariants.every((i: { holds: boolean }) => i.holds)).toBe(true);
  });

  it("rows read as hvsim log prints them, filtered by kind and VM as log --kind/--vm filter", async () => {
    const r = await get("/api/events?at=100&before=2&after=2");
    const log = await cli("log", BUG, "--from", "98", "--to", "102");
    expect(r.json.rows.map((x: { line: string }) => x.line)).toEqual(log.stdout);
    const f = await get("/api/events?at=120&before=1000&after=1000&kind=stage2_fault&vm=128");
    const flog = await cli("log", BUG, "--kind", "stage2_fault", "--vm", "128");
    expect(f.json.rows.map((x: { line: string }) => x.line)).toEqual(flog.stdout);
    expect(f.json).toMatchObject({ startReached: true, endReached: true, scanned: [0, 235] });
  });

  it("the change an event made, with the paths above it", async () => {
    const r = await get("/api/change?at=235");
    expect(r.json.line).toMatch(/^#235 t=0\.002472306s host_read /);
    expect(r.json.changes).toEqual([{ path: "pvm.hostRead", before: "null", after: '{"pa":2416967680,"label":"vm128"}' }]);
    expect(r.json.ancestors).toEqual(["(root)", "pvm"]);
    expect(r.json.open).toEqual(["(root)", "pvm"]);
    const g = await get("/api/change?at=-1");
    expect(g.json).toMatchObject({ at: -1, event: null, changes: [] });
  });

  it("the state opens node by node, with a summary per child", async () => {
    const r = await get("/api/state?at=235&node=pvm.hostRead");
    expect(r.json).toEqual({
      path: "pvm.hostRead",
      type: "object",
      summary: "{2 keys}",
      total: 2,
      offset: 0,
      children: [
        { key: "pa", path: "pvm.hostRead.pa", type: "number", summary: "2416967680 (0x90100000)", leaf: true },
        { key: "label", path: "pvm.hostRead.label", type: "string", summary: '"vm128"', leaf: true },
      ],
    });
    const root = await get("/api/state?at=-1&limit=2&offset=1");
    expect(root.json.children.map((c: { key: string }) => c.key)).toEqual(["t", "config"]);
  });

  it("the diff between two positions is the structural diff of their states", async () => {
    const seeker = seekerForTrace(openTraceFile(BUG));
    const expected = withoutEnvelope(diffStates(seeker.stateAt(100), seeker.stateAt(235), 5000).changes);
    const r = await get("/api/diff?a=100&b=235&limit=5000");
    expect(r.json.changes.length).toBe(expected.length);
    expect(r.json.changes).toContainEqual({ path: "pvm.hostRead", before: "null", after: '{"pa":2416967680,"label":"vm128"}' });
    expect((await get("/api/diff?a=7&b=7")).json.changes).toEqual([]);
  });

  it("timeline: the Perfetto export's tracks, and on each the same run-state slices in the same order", async () => {
    const out: ChromeEvent[] = [];
    const reader = openTraceFile(BUG);
    const seeker = seekerForTrace(reader);
    for (const line of perfettoLines(seeker, reader.header, wholeWindow(seeker.store.count))) {
      const t = line.replace(/^,/, "");
      if (t.startsWith("{\"name\"")) out.push(JSON.parse(t) as ChromeEvent);
    }
    reader.close();
    const threads = out.filter((e) => e.ph === "M" && e.name === "thread_name" && e.tid > 0).map((e) => (e.pid === 1 ? `cpu:${e.tid - 1}` : `vcpu:${e.pid - 1000}:${e.tid - 1}`));
    const r = await get("/api/timeline?from=0&to=235&width=1000");
    expect(r.status).toBe(200);
    const tracks = r.json.tracks.filter((t: { kind: string }) => t.kind === "cpu" || t.kind === "vcpu").map((t: { id: string }) => t.id);
    expect([...tracks].sort()).toEqual([...threads].sort());
    expect(tracks.slice(0, 4)).toEqual(["cpu:0", "cpu:1", "cpu:2", "cpu:3"]);
    for (const id of tracks) {
      const [kind, a, b] = id.split(":");
      const [pid, tid] = kind === "cpu" ? [1, Number(a) + 1] : [1000 + Number(a), Number(b) + 1];
      const exported = out.filter((e) => e.ph === "X" && e.pid === pid && e.tid === tid).sort((x, y) => x.ts! - y.ts!).map((e) => e.name);
      const mine: number[] = r.json.slices[id] ?? [];
      const names = mine.filter((_x, i) => i % 3 === 2).map((n) => r.json.names[n]);
      expect(names, id).toEqual(exported);
    }
    expect(r.json.marks.length % 4).toBe(0);
    const zoomed = await get("/api/timeline?from=230&to=235&width=100");
    const marks = zoomed.json.marks as number[];
    // #231 and #235 are host_read (no mark); #232 is an SMCCC call from the pVM's vCPU: a hypercall mark.
    const hvc = [];
    for (let k = 0; k < marks.length; k += 4) if (marks[k + 3]! & 1) hvc.push([marks[k], zoomed.json.tracks[marks[k + 2]!].id]);
    expect(hvc).toEqual([[232, "vcpu:128:0"]]);
  });

  it("the vCPU panel: registers from a provider that knows the state, nothing otherwise", async () => {
    const r = await get("/api/cpu?at=120&vm=128&vcpu=0");
    expect(r.json).toEqual({
      available: true,
      pc: "0x80000000",
      status: "EL1h",
      registers: [{ name: "x0", value: "0x801f0000" }],
      instructions: [{ address: "0x80000000", word: "d503201f", text: "nop", atPc: true }],
    });
    expect((await get("/api/cpu?at=235&vm=128&vcpu=0")).json).toEqual({ available: false });
  });

  it("malformed requests get 400 and one sentence; other methods, hosts and paths are refused", async () => {
    const bad: [string, string][] = [
      ["/api/events?at=9999", "parameter 'at': 9999 is out of range (-1..235)"],
      ["/api/events?at=1x", "parameter 'at': expected an integer, got '1x'"],
      ["/api/events", "parameter 'at' is required (an integer -1..235)"],
      ["/api/events?at=1&at=2", "parameter 'at' is given more than once"],
      ["/api/events?at=1&file=/etc/passwd", "unknown parameter 'file' (this request takes: after, at, before, kind, vm)"],
      ["/api/events?at=1&kind=nope", expect.stringMatching(/^parameter 'kind': unknown value 'nope' \(one of: hypercall, /) as unknown as string],
      ["/api/state?at=1&node=pvm..x", "path 'pvm..x': column 5: expected a key"],
      ["/api/state?at=1&node=nothing.here", "state path 'nothing.here' does not exist at this event"],
      ["/api/timeline?from=10&to=5&width=100", "timeline range 10..5 is empty (to must be >= from)"],
      ["/api/timeline?from=0&to=5&width=1", "parameter 'width': 1 is out of range (16..8192)"],
      ["/api/summary?x=1", "unknown parameter 'x' (this request takes none)"],
    ];
    for (const [path, message] of bad) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.json, path).toEqual({ error: message });
    }
    expect((await get("/api/nope")).status).toBe(404);
    expect((await get("/etc/passwd")).status).toBe(404);
    expect((await get("/../traces/pvm-boot-s1.hvt")).status).toBe(404);
    const post = await call(server, "/api/summary", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
    const rebound = await call(server, "/api/summary", { host: "evil.example:80" });
    expect(rebound.status).toBe(403);
    expect(rebound.json.error).toBe(`this server answers only to 127.0.0.1:${server.port}`);
    expect((await call(server, "/api/summary", { host: `localhost:${server.port}` })).status).toBe(200);
  });
});

describe("hvsim view: a changed byte array shows where it changed", () => {
  it("page contents written by guest stores (vcpu_exec) show the bytes from the first difference", async () => {
    const session = new ViewerSession(openTraceFile("traces/pvm-boot-s1.hvt"));
    const log = await cli("log", "traces/pvm-boot-s1.hvt", "--kind", "vcpu_exec");
    const seqs = log.stdout.map((l) => Number(/^#(\d+) /.exec(l)![1])).slice(0, 60);
    // Stores into a page that already held bytes (the first write to a page creates it).
    const bytes = seqs.flatMap((seq) => session.change(seq).changes.filter((ch) => ch.before.startsWith("<") && ch.after.startsWith("<")));
    expect(bytes.length).toBeGreaterThan(10);
    for (const ch of bytes) {
      expect(ch.after).toMatch(/^<\d+ bytes> at 0x[0-9a-f]+: ([0-9a-f]{2} ?){1,8}( …)?$/);
      expect(ch.before.replace(/:.*/, "")).toBe(ch.after.replace(/:.*/, ""));
      expect(ch.before).not.toBe(ch.after);
    }
    session.reader.close();
  });
});

describe("hvsim view: the vCPU panel for real guest code (src/viewer/guest-cpu.ts)", () => {
  it("shows the registers and the instruction at the PC after each vcpu_exec, and no panel before the first", async () => {
    const session = new ViewerSession(openTraceFile("traces/pvm-boot-s1.hvt"));
    const log = await cli("log", "traces/pvm-boot-s1.hvt", "--kind", "vcpu_exec", "--json");
    const execs = log.stdout.map((l) => JSON.parse(l) as { seq: number; vm: number; vcpu: number; outcome: { pc: number; insn: number | null } });
    const first = execs[0]!;
    expect(session.cpu(first.seq - 1, first.vm, first.vcpu)).toEqual({ available: false });
    for (const e of execs.slice(0, 5)) {
      const v = session.cpu(e.seq, e.vm, e.vcpu);
      if (!v.available) throw new Error(`no panel at #${e.seq}`);
      expect(v.pc).toBe(`0x${e.outcome.pc.toString(16)}`);
      const at = v.instructions.filter((i) => i.atPc);
      expect(at.map((i) => [i.address, i.word])).toEqual([[v.pc, (e.outcome.insn ?? 0).toString(16).padStart(8, "0")]]);
      expect(v.registers.map((r) => r.name)).toEqual([...Array.from({ length: 31 }, (_, i) => `x${i}`), "sp"]);
      expect(v.status).toMatch(/^EL1[ht], [nN][zZ][cC][vV], DAIF=[dD][aA][iI][fF], \d+ retired$/);
    }
    session.reader.close();
  });
});
