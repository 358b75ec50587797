/**
 * Finds the first value in a state tree that is not plain, serialisable data: the state contract
 * allows objects, arrays, strings, integers (numbers and bigints), booleans, null and Uint8Array.
 * Floats are refused too: nothing in state may depend on floating-point rounding.
 * Returns the key path and the value, or false when the whole tree is plain.
 */
export function findNonSerializableValue(
  value: unknown,
  path = "",
  depthMax = 64,
): { keyPath: string; value: unknown } | false {
  if (depthMax < 0) return { keyPath: path, value: "(nesting too deep)" };
  switch (typeof value) {
    case "string":
    case "boolean":
    case "bigint":
      return false;
    case "number":
      return Number.isSafeInteger(value) ? false : { keyPath: path, value };
    case "object": {
      if (value === null || value instanceof Uint8Array) return false;
      const proto = Object.getPrototypeOf(value);
      if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return { keyPath: path, value };
      for (const [k, v] of Object.entries(value)) {
        const found = findNonSerializableValue(v, path === "" ? k : `${path}.${k}`, depthMax - 1);
        if (found) return found;
      }
      return false;
    }
    default:
      return { keyPath: path, value };
  }
}
