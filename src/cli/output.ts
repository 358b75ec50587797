/**
 * Where commands write files: never over one of their own inputs, and whole or not at all (a
 * temporary file beside the target, renamed into place when complete; src/trace/source.ts).
 */
import { existsSync, realpathSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { die, HvsimError, isHvsimError } from "../core/errors.ts";
import { TraceReader } from "../trace/reader.ts";
import { scanTrace } from "../trace/scan.ts";
import { fileSink, fileSource, type ByteSink } from "../trace/source.ts";

/** The path as the file system sees it (symbolic links in its directory resolved). */
function canonical(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const dir = dirname(resolve(p));
    return existsSync(dir) ? join(realpathSync(dir), basename(p)) : resolve(p);
  }
}

function sameFile(a: string, b: string): boolean {
  if (canonical(a) === canonical(b)) return true;
  if (!existsSync(a) || !existsSync(b)) return false;
  const [x, y] = [statSync(a), statSync(b)];
  return x.dev === y.dev && x.ino === y.ino;
}

/**
 * Refuses, before any work, an output path that cannot be written (empty, a directory, in a folder
 * that does not exist), or that names one of the command's inputs (it would be destroyed while read).
 */
export function refuseInputAsOutput(flag: string, output: string, inputs: readonly (string | undefined)[]): void {
  if (output === "") die("ARGUMENT_INVALID", `${flag}: an empty path; name the file to write`);
  if (existsSync(output) && statSync(output).isDirectory()) die("ARGUMENT_INVALID", `${flag} ${output}: a directory; name a file in it`);
  const folder = dirname(resolve(output));
  if (!existsSync(folder)) die("ARGUMENT_INVALID", `${flag} ${output}: the folder ${dirname(output)} does not exist`);
  if (!statSync(folder).isDirectory()) die("ARGUMENT_INVALID", `${flag} ${output}: ${dirname(output)} is not a folder`);
  for (const input of inputs) {
    if (input !== undefined && sameFile(input, output)) die("ARGUMENT_INVALID", `${flag} ${output}: that is this command's input ${input}; write to another file`);
  }
}

/** Where a recording to `out` is written until it is complete; kept there if the run fails. */
export const partialPath = (out: string): string => `${out}.partial`;

/**
 * Runs `write` with a sink whose bytes reach `out` only when the trace is finished (the writer's
 * close). If `write` fails, `out` is untouched; a recording (`keepPartial`) that got at least one
 * whole block is kept at OUT.partial and the error says so, anything else is removed.
 */
export function writeTraceFile<T>(out: string, write: (sink: ByteSink) => T, o: { keepPartial?: boolean } = {}): T {
  const sink = fileSink(out, o.keepPartial ? partialPath(out) : undefined);
  let result: T;
  try {
    result = write(sink);
  } catch (e) {
    const kept = sink.file.abandon(o.keepPartial === true);
    const note = kept === null ? null : keptNote(kept, out);
    throw note === null || !isHvsimError(e) ? e : new HvsimError(e.code, `${e.message}; ${out} was left as it was; ${note}`, e.context);
  }
  if (!sink.file.finished) sink.file.commit();
  return result;
}

/** What a kept partial recording holds, or null (and it is removed) when it holds no whole block. */
function keptNote(kept: string, out: string): string | null {
  let blocks = 0;
  let events = 0;
  try {
    const r = TraceReader.open(fileSource(kept));
    try {
      const s = scanTrace(r);
      blocks = s.blocks;
      events = s.events;
    } finally {
      r.close();
    }
  } catch {
    // Not even a header: nothing worth keeping.
  }
  if (blocks === 0) {
    rmSync(kept, { force: true });
    return null;
  }
  return `the partial trace (${blocks} whole block${blocks === 1 ? "" : "s"}, ${events} events) is kept at ${kept} (hvsim repair ${kept} -o ${out} completes it)`;
}
