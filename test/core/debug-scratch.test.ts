import { it } from "vitest";
import { hostile, simulate } from "./simulator.test.js";
it("scratch", () => {
  const input = JSON.parse(process.env.SCEN ?? "{}");
  const world = simulate(input, hostile, false);
  console.log(world.violations);
  for (const c of world.clients) {
    const s = c.session.snapshot();
    console.log(c.index, s.connection.status, s.sending.epoch, s.keys, s.roster.map((r) => `${r.seq}${r.leader ? "L" : ""}`).join(","), JSON.stringify(c.session.metrics()));
  }
});
