// Closes exhaustive switches: adding a message type without handling it becomes a type error.
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
