import { LineCounter, parseDocument, isNode, visit, type Document } from "yaml";
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

/**
 * What a scenario file may cost before it is parsed, generous beyond any real scenario (the shipped
 * ones are 1-2 KiB, nested 12 levels, with no aliases): a file past them is refused with one line
 * rather than parsed into gigabytes or a stack overflow.
 */
export const YAML_LIMITS = { bytes: 1024 * 1024, depth: 64, aliases: 1000 } as const;

/** As loadYaml, and keeps the source so later (semantic) checks can name positions too. */
export function loadYamlSource<T>(fileName: string, text: string, schema: Schema<T>): { value: T; source: YamlSource } {
  if (text.length > YAML_LIMITS.bytes) {
    die("SCENARIO_INVALID", `${fileName}: ${text.length} bytes, more than the ${YAML_LIMITS.bytes} a scenario file may have`, { path: fileName });
  }
  const deep = nestingBeyond(text, YAML_LIMITS.depth);
  if (deep !== null) {
    die("SCENARIO_INVALID", `${fileName}:${deep.line}:${deep.col}: nested more than ${YAML_LIMITS.depth} levels deep (scenarios need a dozen)`, { path: fileName, line: deep.line });
  }
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
  const result = validate(schema, toJs(source));
  if (result.ok) return { value: result.value, source };
  return reportIssues(source, result.issues);
}

/**
 * The document as plain values. Aliases expand into shared values that validation walks once per
 * use, so their expansion is bounded (the yaml library's count of alias uses weighted by the aliases
 * inside what they point at); past the bound, one line naming the first alias.
 */
function toJs(source: YamlSource): unknown {
  try {
    return source.doc.toJS({ maxAliasCount: YAML_LIMITS.aliases });
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    let first: { line: number; col: number } = { line: 1, col: 1 };
    visit(source.doc, {
      Alias(_, node) {
        if (node.range) first = source.lines.linePos(node.range[0]);
        return visit.BREAK;
      },
    });
    return die("SCENARIO_INVALID", `${source.fileName}:${first.line}:${first.col}: YAML aliases expand too far (${e.message.toLowerCase()}; the limit is ${YAML_LIMITS.aliases} alias uses)`, {
      path: source.fileName,
      line: first.line,
    });
  }
}

/**
 * The first place where a YAML text nests deeper than `max`, found without parsing it (the parser
 * recurses per level): block levels from indentation and sequence dashes, flow levels from
 * brackets outside quotes and comments. An over-estimate at worst (a block scalar's indented
 * lines count as a level), so a real scenario is never refused.
 */
export function nestingBeyond(text: string, max: number): { line: number; col: number } | null {
  const indents: number[] = [];
  let flow = 0;
  let quote: string | null = null;
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n]!;
    let i = 0;
    if (flow === 0 && quote === null) {
      while (l[i] === " ") i++;
      if (i === l.length || l[i] === "#") continue;
      while (indents.length > 0 && indents[indents.length - 1]! > i) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1]! < i) indents.push(i);
      // "- - x": each dash opens a sequence whose item starts past it.
      while ((l[i] === "-" || l[i] === "?") && (l[i + 1] === " " || i + 1 === l.length)) {
        i += 1;
        while (l[i] === " ") i++;
        indents.push(i);
        if (indents.length > max) return { line: n + 1, col: i + 1 };
      }
    }
    // Quotes and brackets only open at the start of a value (not inside plain text such as "host's").
    let prev = "";
    for (; i < l.length; i++) {
      const c = l[i]!;
      if (quote !== null) {
        if (c === quote) quote = null;
        continue;
      }
      const atStart = prev === "" || ":-?,[{".includes(prev);
      if (c === " ") continue;
      if ((c === '"' || c === "'") && atStart) quote = c;
      else if (c === "#" && (i === 0 || l[i - 1] === " ")) break;
      else if ((c === "[" || c === "{") && atStart) {
        flow += 1;
        if (indents.length + flow > max) return { line: n + 1, col: i + 1 };
      } else if ((c === "]" || c === "}") && flow > 0) flow -= 1;
      prev = c;
    }
    if (indents.length + flow > max) return { line: n + 1, col: 1 };
  }
  return null;
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
