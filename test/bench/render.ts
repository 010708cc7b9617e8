// Writes latest.json, README-table.md and lockout.svg for a set of results. Also runnable on its own
// (`npx tsx test/bench/render.ts [DIR]`) to re-render the table and chart from a saved latest.json
// after a change to the wording or the chart, without re-running the benchmark.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type LockoutPoint, renderLockoutChart } from "./chart";
import { renderMarkdown } from "./report";
import { BenchResults } from "./results";

export function writeReport(results: BenchResults, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, "README-table.md"), renderMarkdown(results));
  const points: LockoutPoint[] = results.signalling.map((s) => ({
    participants: s.participants,
    ...s.leaveToCommitMs,
  }));
  if (points.length > 0) writeFileSync(join(outDir, "lockout.svg"), renderLockoutChart(points));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? "test/bench/results";
  const results = BenchResults.parse(JSON.parse(readFileSync(join(dir, "latest.json"), "utf8")));
  writeReport(results, dir);
  console.log(`re-rendered ${dir}/README-table.md and lockout.svg from latest.json`);
}
