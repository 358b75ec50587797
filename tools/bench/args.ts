/**
 * The benches' command lines over a table of defaults. A default that is a number makes its option
 * `--name N`, a whole number (at least 1, or 0 where `zeroOk` names it); a boolean makes `--name` a
 * flag without a value; anything else is `--name VALUE`, a string. Names are written as in the
 * table, so `pureEvents` is `--pure-events`. A wrong argument is one line naming the options, and
 * exit 2.
 */
export function benchArgs<T extends Record<string, string | number | boolean>>(tool: string, defaults: T, zeroOk: readonly (keyof T)[] = []): { opts: T; usage: (why: string) => never } {
  const flag = (name: string): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const byFlag = new Map(Object.keys(defaults).map((k) => [flag(k), k]));
  const usage = (why: string): never => {
    const each = Object.keys(defaults).map((k) => {
      const d = defaults[k];
      return typeof d === "boolean" ? flag(k) : `${flag(k)} ${typeof d === "number" ? "N" : k.toUpperCase()}`;
    });
    console.error(`${tool}: ${why} (use ${each.join(", ")})`);
    process.exit(2);
  };
  const opts: Record<string, string | number | boolean> = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const name = byFlag.get(k);
    if (name === undefined) usage(`unknown argument '${k}'`);
    const d = defaults[name!];
    if (typeof d === "boolean") {
      opts[name!] = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) usage(`'${k}' needs a value`);
    if (typeof d !== "number") opts[name!] = v!;
    else {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < (zeroOk.includes(name!) ? 0 : 1)) usage(`${k} wants a whole number, got '${v}'`);
      opts[name!] = n;
    }
  }
  return { opts: opts as T, usage };
}
