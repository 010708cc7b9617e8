// axe-core's audit of a page as it is now (the accessibility suite's, and any test that shows a
// screen no other test reaches). axe goes into the page by page.evaluate of its source, not a
// <script> tag: the policy (script-src 'self') rightly refuses inline and foreign scripts, and an
// evaluation from the test driver is not a page script, so the audit runs against the page exactly
// as users get it, with no bypassCSP context that would also hide policy violations from
// csp-guard.ts. Any serious or critical finding fails; the rest are printed.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { step } from "./pages";

const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

interface Finding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** Runs axe on the page as it is now; returns the serious and critical findings. */
async function audit(page: Page): Promise<Finding[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(await AXE_SOURCE);
  const findings = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            context: Document,
            options: object,
          ): Promise<{
            violations: {
              id: string;
              impact: string | null;
              help: string;
              nodes: { target: string[] }[];
            }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((node) => node.target.join(" ")),
    }));
  });
  return findings;
}

export async function expectAccessible(page: Page, screen: string) {
  const findings = await audit(page);
  const blocking = findings.filter((f) => f.impact === "serious" || f.impact === "critical");
  // Moderate and minor findings are printed, not failed: the bar is zero serious or critical.
  for (const f of findings.filter((f) => !blocking.includes(f)))
    step(`axe (${f.impact}) on the ${screen}: ${f.id} at ${f.targets.join(", ")}`);
  expect(blocking, `axe findings on the ${screen}`).toEqual([]);
}
