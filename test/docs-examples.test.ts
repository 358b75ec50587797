import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";
import { EXIT_TABLE } from "../src/cli/exit.ts";
import { builtinScenarios, DEFAULT_SCENARIO } from "../src/sim/builtin/index.ts";
import { KNOWN_FAULTS } from "../src/sim/faults.ts";
import { hasStackTrace, tempDir } from "./helpers.ts";

/**
 * The docs match the tool: every command example in a ```sh block of README.md and docs/*.md runs
 * and exits as the doc says (`# exit N` after it; 0 otherwise), every `--help` example of every
 * command runs without a usage error, and the tables that restate the code (exit codes, built-in
 * scenarios, faults) restate it exactly.
 *
 * Examples run in-process in a scratch directory that links the repository's scenarios/, test/ and
 * docs/, after `hvsim run` has written out/pvm-boot-s1.hvt, as a new user's checkout would have.
 * The little shell understood: `A && B`, `printf '...' | hvsim ...` (stdin), `... | head [-N]`
 * (a reader that leaves), `npx hvsim` = `hvsim`, `npm ci && X` = X. A line may say
 * `# not run in the tests: REASON`; `npm test` is not run (it is this suite).
 */
const repo = fileURLToPath(new URL("..", import.meta.url));
const DOCS = ["README.md", ...readdirSync(join(repo, "docs")).filter((f) => f.endsWith(".md") && f !== "HELPERS.md").map((f) => `docs/${f}`)];

interface Example {
  readonly where: string;
  readonly line: string;
  readonly exit: number;
  readonly skip: string | null;
}

/** Every line of every ```sh block, with the exit code its comment promises. */
function examples(): Example[] {
  const out: Example[] = [];
  for (const doc of DOCS) {
    const lines = readFileSync(join(repo, doc), "utf8").split("\n");
    let inSh = false;
    lines.forEach((raw, i) => {
      if (/^```sh\s*$/.test(raw)) return void (inSh = true);
      if (/^```/.test(raw)) return void (inSh = false);
      if (!inSh || raw.trim() === "") return;
      const comment = /\s#\s(.*)$/.exec(raw)?.[1] ?? "";
      const skip = /^not run in the tests: (.+)$/.exec(comment)?.[1] ?? (/^\s*npm (ci && )?npm test\b/.test(raw) ? "it is this test suite" : null);
      out.push({ where: `${doc}:${i + 1}`, line: raw.replace(/\s+#\s.*$/, "").trim(), exit: Number(/^exit (\d+)/.exec(comment)?.[1] ?? 0), skip });
    });
  }
  return out;
}

/** Words of one command, with single and double quotes as a POSIX shell takes them. */
function words(cmd: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(cmd); m !== null; m = re.exec(cmd)) out.push(m[1] ?? m[2]?.replace(/\\(.)/g, "$1") ?? m[3]!);
  return out;
}

/** printf's escapes (the ones examples use). */
const printfText = (fmt: string): string => fmt.replace(/\\n/g, "\n").replace(/\\t/g, "\t");

/** Runs one example line; returns the last command's exit code and its output. */
async function runLine(line: string): Promise<{ code: number; out: string[] }> {
  let code = 0;
  const out: string[] = [];
  for (const part of line.replace(/^npm ci && /, "").split(/\s+&&\s+/)) {
    let cmd = part.trim().replace(/^npx hvsim\b/, "hvsim");
    let stdin: string[] = [];
    let readerLeavesAfter: number | undefined;
    const pipeIn = /^printf\s+('[^']*'|"[^"]*")\s*\|\s*(.*)$/.exec(cmd);
    if (pipeIn !== null) {
      stdin = printfText(words(pipeIn[1]!)[0]!).split("\n").filter((l) => l !== "");
      cmd = pipeIn[2]!.replace(/^npx hvsim\b/, "hvsim");
    }
    const head = /^(.*?)\s*\|\s*head(?:\s+-n?\s*(\d+)|\s+-(\d+))?\s*$/.exec(cmd);
    if (head !== null) {
      cmd = head[1]!;
      readerLeavesAfter = Number(head[2] ?? head[3] ?? 10);
    }
    const argv = words(cmd);
    if (argv[0] !== "hvsim") {
      // Other tools a doc shows (the cross compiler) run in a shell in the same directory.
      const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
      code = r.status ?? 1;
      out.push(...r.stdout.split("\n"), ...r.stderr.split("\n"));
      if (code !== 0) break;
      continue;
    }
    const io = memoryIo(stdin, { ...(readerLeavesAfter === undefined ? {} : { readerLeavesAfter }), env: { HVSIM_HISTORY: "" } });
    code = await main(["node", "hvsim", ...argv.slice(1)], io);
    out.push(...io.stdout, ...io.stderr);
    if (code !== 0) break;
  }
  return { code, out };
}

let cwd = "";
beforeAll(async () => {
  cwd = process.cwd();
  const dir = tempDir();
  for (const d of ["scenarios", "test", "docs", "guests", "tools"]) symlinkSync(join(repo, d), join(dir, d));
  mkdirSync(join(dir, "out"));
  process.chdir(dir);
  expect((await runLine("hvsim run")).code).toBe(0);
}, 120_000);
afterAll(() => process.chdir(cwd));

describe("every command example in the docs runs and exits as the doc says", () => {
  const all = examples();
  it("the docs have examples to run, and each skipped one says why", () => {
    expect(all.length).toBeGreaterThan(20);
    for (const e of all) if (e.skip !== null) expect(e.skip.length, e.where).toBeGreaterThan(5);
  });
  for (const e of all.filter((x) => x.skip === null)) {
    it(`${e.where}: ${e.line} (exit ${e.exit})`, async () => {
      const r = await runLine(e.line);
      expect(r.code, r.out.slice(-3).join("\n")).toBe(e.exit);
      expect(hasStackTrace(r.out)).toBe(false);
    });
  }
});

const SERVERS = ["view", "gdb", "cpu gdb"];
describe("every --help example runs (no usage error, no missing file)", () => {
  const commands = Object.keys(EXIT_TABLE).filter((c) => !c.includes("--"));
  for (const command of commands) {
    it(`hvsim ${command} --help`, async () => {
      const help = memoryIo();
      expect(await main(["node", "hvsim", ...command.split(" "), "--help"], help)).toBe(0);
      const text = help.stdout.join("\n").split("\n");
      const from = text.findIndex((l) => /^Examples/.test(l));
      expect(from, `${command} --help has examples`).toBeGreaterThan(0);
      // A server's own example line serves until interrupted (test/cli-exit-codes.test.ts runs each server).
      const serves = SERVERS.includes(command);
      for (const l of text.slice(from + 1).filter((x) => /^ {2}(hvsim|printf) /.test(x) && !(serves && x.startsWith(`  hvsim ${command} `)))) {
        const r = await runLine(l.trim().replace(/\s+#\s.*$/, ""));
        // Exactly the exit its `# exit N` says (0 without one), and something to see: an example
        // that prints nothing on the trace it names teaches nothing.
        const exit = Number(/\s#\s+exit (\d+)/.exec(l)?.[1] ?? 0);
        expect(r.code, `${l.trim()}\n${r.out.slice(-3).join("\n")}`).toBe(exit);
        expect(r.out.join("").trim(), `${l.trim()} prints nothing`).not.toBe("");
      }
    });
  }
});

describe("tables in the docs restate the code exactly", () => {
  it("README's exit codes are EXIT_TABLE, row by row", () => {
    const readme = readFileSync(join(repo, "README.md"), "utf8");
    for (const [cmd, codes] of Object.entries(EXIT_TABLE)) {
      const row = `| \`${cmd}\` | ${Object.entries(codes).map(([c, w]) => `**${c}** ${w.replace(/\|/g, "\\|")}`).join("; ")} |`;
      expect(readme, cmd).toContain(row);
    }
  });

  it("docs/scenarios.md lists every built-in, marks the default, and lists every fault", () => {
    const doc = readFileSync(join(repo, "docs/scenarios.md"), "utf8");
    const builtinRows = [...doc.matchAll(/^\| `([a-z0-9-]+)`( \(default\))?( \(file\))? \|/gm)];
    const listed = builtinRows.map((m) => m[1]!).filter((n) => !KNOWN_FAULTS.some((f) => f.name === n));
    expect(listed.sort()).toEqual(builtinScenarios().map((s) => s.name).sort());
    expect(builtinRows.filter((m) => m[2] !== undefined).map((m) => m[1])).toEqual([DEFAULT_SCENARIO.name]);
    const faults = builtinRows.map((m) => m[1]!).filter((n) => KNOWN_FAULTS.some((f) => f.name === n));
    expect(faults.sort()).toEqual(KNOWN_FAULTS.map((f) => f.name).sort());
    const churn = readFileSync(join(repo, "scenarios/mem-churn.yaml"), "utf8");
    const rounds = /(\d+) rounds/.exec(doc.split("\n").find((l) => l.includes("`mem-churn`"))!)![1];
    expect(churn).toContain(`count: ${rounds}`);
  });

  it("docs/protected-vms.md cites nothing outside the repository", () => {
    const doc = readFileSync(join(repo, "docs/protected-vms.md"), "utf8");
    expect(doc).not.toMatch(/\.\.\/|shared\/reference|§/);
  });
});
