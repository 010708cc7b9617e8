// Runs around every end-to-end test (vitest setupFiles): a test during which any page opened with
// openPage reported a Content-Security-Policy violation fails, naming the directive and the load.
import { afterAll, afterEach, expect } from "vitest";
import { collectPendingViolations, takeCspViolations } from "./pages";

afterEach(async () => {
  await collectPendingViolations();
  expect(takeCspViolations(), "Content-Security-Policy violations during this test").toEqual([]);
});

// Pages still live after the last test (closed in the file's own afterAll) are checked once more.
afterAll(async () => {
  await collectPendingViolations();
  expect(takeCspViolations(), "Content-Security-Policy violations after the last test").toEqual([]);
});
