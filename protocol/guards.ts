// Two guards every side of the wire needs, kept next to the schema so that the Worker and the web
// app share one definition without either importing the other's code.

/** Closes a switch over a union: adding a variant without handling it becomes a type error. */
export function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}

/** A plain object whose fields may be read before a schema (or a hand check) vets them. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
