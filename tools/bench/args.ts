/**
 * The benches' command lines: `--name value` pairs over a table of defaults. A default that is a
 * number makes its option a whole number (at least 1, or 0 where `zeroOk` names it); anything
 * else is a string. A wrong argument is one line naming the options, and exit 2.
 */
export function benchArgs<T extends Record<string, string | number>>(tool: string, defaults: T, zeroOk: readonly (keyof T)[] = []): { opts: T; usage: (why: string) => never } {
  const names = Object.keys(defaults);
  const usage = (why: string): never => {
    console.error(`${tool}: ${why} (use ${names.map((k) => `--${k} ${typeof defaults[k] === "number" ? "N" : k.toUpperCase()}`).join(", ")})`);
    process.exit(2);
  };
  const opts: Record<string, string | number> = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i]!, argv[i + 1]];
    if (v === undefined) usage(`'${k}' needs a value`);
    const name = k.startsWith("--") ? k.slice(2) : "";
    if (!names.includes(name)) usage(`unknown argument '${k}'`);
    if (typeof defaults[name] !== "number") opts[name] = v!;
    else {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < (zeroOk.includes(name) ? 0 : 1)) usage(`${k} wants a whole number, got '${v}'`);
      opts[name] = n;
    }
  }
  return { opts: opts as T, usage };
}
