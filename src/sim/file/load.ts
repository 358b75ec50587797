import { LineCounter, parseDocument, isNode, type Document } from "yaml";
import { die } from "../../core/errors.ts";
import { formatPath, validate, type Issue, type Path, type Schema } from "./schema.ts";

/** A parsed YAML file that still knows where each value came from. */
export interface YamlSource {
  readonly fileName: string;
  readonly doc: Document;
  readonly lines: LineCounter;
}

/**
 * Parses a YAML scenario and validates it against a schema. Any problem becomes one line naming the
 * file, the line and column, the path of the bad value, and what was expected:
 *   scenarios/x.yaml:12:15: vms[0].memory: expected a size such as 64MiB, got 'lots'
 */
export function loadYaml<T>(fileName: string, text: string, schema: Schema<T>): T {
  return loadYamlSource(fileName, text, schema).value;
}

/** As loadYaml, and keeps the source so later (semantic) checks can name positions too. */
export function loadYamlSource<T>(fileName: string, text: string, schema: Schema<T>): { value: T; source: YamlSource } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const pos = lines.linePos(yamlError.pos[0]);
    die("SCENARIO_INVALID", `${fileName}:${pos.line}:${pos.col}: not valid YAML: ${yamlError.message.split("\n")[0]}`, {
      path: fileName,
    });
  }
  const source: YamlSource = { fileName, doc, lines };
  const result = validate(schema, doc.toJS({ maxAliasCount: 100 }));
  if (result.ok) return { value: result.value, source };
  return reportIssues(source, result.issues);
}

/** Fails with the first issue, in the one-line format, counting the others. */
export function reportIssues(source: YamlSource, issues: readonly Issue[]): never {
  const issue = issues[0]!;
  const { line, col } = positionOf(source, issue.path);
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return die("SCENARIO_INVALID", `${source.fileName}:${line}:${col}: ${formatPath(issue.path)}: expected ${issue.expected}, got ${issue.got}${more}`, {
    path: formatPath(issue.path),
    line,
  });
}

/** The source position of the deepest existing node along a path. */
export function positionOf(source: YamlSource, path: Path): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? source.doc.contents : source.doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      const p = source.lines.linePos(node.range[0]);
      return { line: p.line, col: p.col };
    }
    // A missing key: point at the mapping that should hold it (found on the next iteration).
  }
  return { line: 1, col: 1 };
}
