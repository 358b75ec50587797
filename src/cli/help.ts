import { EXIT_TABLE } from "./exit.ts";

/** The trace the quick start writes (`hvsim run`): help examples use it, so each one runs as shown. */
export const EXAMPLE_TRACE = "out/pvm-boot-s1.hvt";

/**
 * A command's help epilogue: notes, examples that run as written (test/docs-examples.test.ts runs
 * them), and its exit codes from the one table (EXIT_TABLE).
 */
export function helpAfter(command: string, examples: readonly string[], notes: readonly string[] = []): string {
  const codes = EXIT_TABLE[command];
  const lines = ["", ...notes];
  if (examples.length > 0) {
    lines.push(examples.some((e) => e.includes(EXAMPLE_TRACE)) ? `Examples (${EXAMPLE_TRACE} is the trace \`hvsim run\` writes):` : "Examples:");
    lines.push(...examples.map((e) => `  ${e}`));
  }
  if (codes !== undefined) lines.push(`Exit codes: ${Object.entries(codes).map(([c, why]) => `${c} ${why}`).join("; ")}.`);
  if (command === "bisect") lines.push(`With --exit-code: ${Object.entries(EXIT_TABLE["bisect --exit-code"]!).map(([c, why]) => `${c} ${why}`).join("; ")}.`);
  return lines.join("\n");
}
