import { die } from "../core/errors.ts";
import type { PathSegment } from "./paths.ts";

/**
 * The predicate language (bisect --until, debug find): a hand-written tokenizer and recursive-descent
 * parser, never eval. Grammar, loosest binding first:
 *
 *   expr    := and ("||" and)*
 *   and     := cmp ("&&" cmp)*
 *   cmp     := unary (("==" | "!=" | "<" | "<=" | ">" | ">=") unary)?
 *   unary   := "!" unary | "-" number | primary
 *   primary := number | string | true | false | null | "(" expr ")" | name "(" [expr ("," expr)*] ")" | path
 *   path    := name ("." (name | number) | "[" (number | string) "]")*
 *
 * Numbers are integers: decimal or 0x hex, `_` separators allowed; beyond 2^53 they are bigints.
 * Errors are one line naming the 1-based column.
 */
export type Node =
  | { readonly type: "literal"; readonly value: unknown }
  | { readonly type: "path"; readonly segments: readonly PathSegment[]; readonly text: string; readonly column: number }
  | { readonly type: "not"; readonly operand: Node }
  | { readonly type: "logic"; readonly op: "&&" | "||"; readonly left: Node; readonly right: Node }
  | { readonly type: "compare"; readonly op: CompareOp; readonly left: Node; readonly right: Node }
  | { readonly type: "call"; readonly name: string; readonly args: readonly Node[]; readonly column: number };

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

interface Token {
  readonly kind: "num" | "str" | "name" | "op" | "end";
  readonly text: string;
  readonly value?: unknown;
  /** 0-based offset in the source. */
  readonly at: number;
}

const OPS = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".", "-"];

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const rest = src.slice(i);
    // "_" only between digits: `0x_` and `1__0` are not numbers (BigInt would throw on them).
    const num = /^(?:0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|\d(?:_?\d)*)(?![\w$])/.exec(rest);
    if (num === null && /^\d/.test(rest)) fail(src, i, `'${/^[\w$]+/.exec(rest)![0]}' is not a number (decimal, or 0x hex; '_' between digits)`);
    if (num !== null) {
      out.push({ kind: "num", text: num[0], value: numberValue(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_$][\w$]*/.exec(rest);
    if (name !== null) {
      out.push({ kind: "name", text: name[0], at: i });
      i += name[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      const str = c === '"' ? /^"((?:[^"\\]|\\.)*)"/.exec(rest) : /^'([^'\\]*)'/.exec(rest);
      if (str === null) fail(src, i, "unterminated string");
      out.push({ kind: "str", text: str![0], value: c === '"' ? jsonString(src, i, str![0]) : str![1], at: i });
      i += str![0].length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (op === undefined) fail(src, i, `unexpected character '${c}'`);
    out.push({ kind: "op", text: op!, at: i });
    i += op!.length;
  }
  out.push({ kind: "end", text: "end of input", at: src.length });
  return out;
}

/** A double-quoted string with JSON's escapes (\" \\ \n \t \uXXXX ...); any other escape is an error. */
function jsonString(src: string, at: number, text: string): string {
  try {
    return JSON.parse(text) as string;
  } catch {
    return fail(src, at, `${text} has an escape that is not one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX`);
  }
}

function numberValue(text: string): number | bigint {
  const big = BigInt(text.replace(/_/g, ""));
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function fail(src: string, at: number, what: string): never {
  die("ARGUMENT_INVALID", `predicate '${src}': column ${at + 1}: ${what}`, { column: at + 1 });
}

/** Parses a predicate; `isFunction` tells calls from paths and checks arity at parse time. */
export function parsePredicate(src: string, arityOf: (name: string) => number | undefined): Node {
  const toks = tokenize(src);
  let p = 0;
  const peek = (): Token => toks[p]!;
  const is = (text: string): boolean => peek().kind === "op" && peek().text === text;
  const show = (t: Token): string => (t.kind === "end" ? t.text : `'${t.text}'`);
  const expect = (text: string): void => {
    if (!is(text)) fail(src, peek().at, `expected '${text}' but found ${show(peek())}`);
    p += 1;
  };

  const expr = (): Node => {
    let left = and();
    while (is("||")) {
      p += 1;
      left = { type: "logic", op: "||", left, right: and() };
    }
    return left;
  };
  const and = (): Node => {
    let left = cmp();
    while (is("&&")) {
      p += 1;
      left = { type: "logic", op: "&&", left, right: cmp() };
    }
    return left;
  };
  const cmp = (): Node => {
    const left = unary();
    const t = peek();
    if (t.kind === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(t.text)) {
      p += 1;
      return { type: "compare", op: t.text as CompareOp, left, right: unary() };
    }
    return left;
  };
  const unary = (): Node => {
    if (is("!")) {
      p += 1;
      return { type: "not", operand: unary() };
    }
    if (is("-")) {
      p += 1;
      const t = peek();
      if (t.kind !== "num") fail(src, t.at, `expected a number after '-' but found ${show(t)}`);
      p += 1;
      return { type: "literal", value: typeof t.value === "bigint" ? -t.value : -(t.value as number) };
    }
    return primary();
  };
  const primary = (): Node => {
    const t = peek();
    if (t.kind === "num" || t.kind === "str") {
      p += 1;
      return { type: "literal", value: t.value };
    }
    if (is("(")) {
      p += 1;
      const inner = expr();
      expect(")");
      return inner;
    }
    if (t.kind !== "name") fail(src, t.at, `expected a value, a path or '(' but found ${show(t)}`);
    if (t.text === "true" || t.text === "false" || t.text === "null") {
      p += 1;
      return { type: "literal", value: t.text === "null" ? null : t.text === "true" };
    }
    if (toks[p + 1]?.kind === "op" && toks[p + 1]!.text === "(") return call();
    return path();
  };
  const call = (): Node => {
    const t = peek();
    const arity = arityOf(t.text);
    if (arity === undefined) fail(src, t.at, `unknown function '${t.text}'`);
    p += 2;
    const args: Node[] = [];
    if (!is(")")) {
      args.push(expr());
      while (is(",")) {
        p += 1;
        args.push(expr());
      }
    }
    expect(")");
    if (args.length !== arity) fail(src, t.at, `${t.text}() takes ${arity} argument${arity === 1 ? "" : "s"}, got ${args.length}`);
    return { type: "call", name: t.text, args, column: t.at + 1 };
  };
  const path = (): Node => {
    const start = peek();
    const segments: PathSegment[] = [start.text];
    p += 1;
    for (;;) {
      if (is(".")) {
        p += 1;
        const s = peek();
        if (s.kind !== "name" && s.kind !== "num") fail(src, s.at, `expected a key after '.' but found ${show(s)}`);
        segments.push(s.kind === "num" && /^\d+$/.test(s.text) ? Number(s.text) : s.text);
        p += 1;
      } else if (is("[")) {
        p += 1;
        const s = peek();
        if (s.kind !== "num" && s.kind !== "str") fail(src, s.at, `expected an index or a quoted key in [] but found ${show(s)}`);
        segments.push(s.kind === "num" ? String(s.value) : (s.value as string));
        p += 1;
        expect("]");
      } else break;
    }
    const end = toks[p - 1]!;
    return { type: "path", segments, text: src.slice(start.at, end.at + end.text.length), column: start.at + 1 };
  };

  const root = expr();
  if (peek().kind !== "end") fail(src, peek().at, `unexpected ${show(peek())} after a complete expression`);
  return root;
}
