// Closes switches over unions: adding a variant without handling it becomes a type error.
export function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}
