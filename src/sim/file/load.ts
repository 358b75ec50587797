import { LineCounter, parseDocument, isNode, isScalar, visit, type Document, type Scalar } from "yaml";
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
  const fail = (offset: number, what: string): never => {
    const pos = lines.linePos(offset);
    return die("SCENARIO_INVALID", `${fileName}:${pos.line}:${pos.col}: not valid YAML: ${what}`, { path: fileName });
  };
  try {
    // The parser's own unique-key check compares every pair of keys (20,000 keys take 8 s): ours is one pass.
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
    const yamlError = doc.errors[0];
    if (yamlError !== undefined) fail(yamlError.pos[0], /call stack/.test(yamlError.message) ? "nested too deeply" : yamlError.message.split("\n")[0]!);
    const repeated = repeatedKey(doc);
    if (repeated !== null) fail(repeated.range?.[0] ?? 0, `the key '${String(repeated.value)}' appears twice in one mapping`);
    const source: YamlSource = { fileName, doc, lines };
    let js: unknown;
    try {
      js = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
    } catch (e) {
      // The parser refuses alias bombs (a billion laughs) by throwing: that is bad input, not a crash.
      if (e instanceof ReferenceError && /alias/i.test(e.message)) fail(0, `aliases expand to too much (an alias bomb?): ${e.message}`);
      throw e;
    }
    const result = validate(schema, js);
    if (result.ok) return { value: result.value, source };
    return reportIssues(source, result.issues);
  } catch (e) {
    // Nesting deep enough to exhaust the stack (in the parser or in our walks over the tree).
    if (e instanceof RangeError && /call stack/.test(e.message)) return fail(0, "nested too deeply");
    throw e;
  }
}

/** How far aliases may multiply a document (the parser's maxAliasCount): generous for real scenarios. */
const MAX_ALIAS_EXPANSION = 1000;

/** The first key that repeats within its mapping, if any. */
function repeatedKey(doc: Document): Scalar | null {
  let found: Scalar | null = null;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const k = String(pair.key.value);
        if (seen.has(k)) {
          found = pair.key;
          return visit.BREAK;
        }
        seen.add(k);
      }
      return undefined;
    },
  });
  return found;
}

/** Most problems listed one line each; a file with more (a generated one, say) gets a count for the rest. */
const MAX_LISTED_ISSUES = 20;

/**
 * Fails naming every issue, one line each, in the one-line format (a file with a missing key and a
 * type error shows both, not the first and a count). The error's context points at the first.
 */
export function reportIssues(source: YamlSource, issues: readonly Issue[]): never {
  const lines = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => {
    const { line, col } = positionOf(source, issue.path);
    return `${source.fileName}:${line}:${col}: ${formatPath(issue.path)}: expected ${issue.expected}, got ${issue.got}`;
  });
  if (issues.length > MAX_LISTED_ISSUES) lines.push(`${source.fileName}: (and ${issues.length - MAX_LISTED_ISSUES} more problems)`);
  const first = issues[0]!;
  return die("SCENARIO_INVALID", lines.join("\n"), { path: formatPath(first.path), line: positionOf(source, first.path).line });
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
