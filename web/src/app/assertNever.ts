// Closes a switch over a union: adding a case without handling it is a type error.
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
