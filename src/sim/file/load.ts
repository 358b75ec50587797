import { LineCounter, parseDocument, isNode } from "yaml";
import { die } from "../../core/errors.ts";
import { formatPath, validate, type Issue, type Schema } from "./schema.ts";

/**
 * Parses a YAML scenario and validates it against a schema. Any problem becomes one line naming the
 * file, the line and column, the path of the bad value, and what was expected:
 *   scenarios/x.yaml:12:15: vms[0].memory: expected a size such as 64MiB, got 'lots'
 */
export function loadYaml<T>(fileName: string, text: string, schema: Schema<T>): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const pos = lineCounter.linePos(yamlError.pos[0]);
    die("SCENARIO_INVALID", `${fileName}:${pos.line}:${pos.col}: not valid YAML: ${yamlError.message.split("\n")[0]}`, {
      path: fileName,
    });
  }
  const result = validate(schema, doc.toJS({ maxAliasCount: 100 }));
  if (result.ok) return result.value;
  const issue = result.issues[0]!;
  const { line, col } = locate(doc, lineCounter, issue);
  const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more)` : "";
  return die("SCENARIO_INVALID", `${fileName}:${line}:${col}: ${formatPath(issue.path)}: expected ${issue.expected}, got ${issue.got}${more}`, {
    path: formatPath(issue.path),
    line,
  });
}

/** The source position of the deepest existing node along the issue's path. */
function locate(doc: ReturnType<typeof parseDocument>, lc: LineCounter, issue: Issue): { line: number; col: number } {
  for (let n = issue.path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(issue.path.slice(0, n), true);
    if (isNode(node) && node.range) {
      const p = lc.linePos(node.range[0]);
      return { line: p.line, col: p.col };
    }
    // A missing key: point at the mapping that should hold it (found on the next iteration).
  }
  return { line: 1, col: 1 };
}
