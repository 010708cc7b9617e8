// The media benchmark on the real product path: the built web app, served by the real Worker, in
// headless Chromium with fake camera and microphone, through the real livekit-server. It measures
// join → first decrypted frame (a tile's video shows a frame; frames that fail to decrypt are
// dropped before the decoder, so a shown frame is a decrypted one) in both directions, and the
// decrypt failures the app counts while keys rotate (periodic ratchets, a leave, a join).
import type { Page } from "playwright-core";
import type { HushTestView } from "../../web/src/app/testHooks";
import type { RunningBrowser } from "../support/browser";
import { sleep } from "./fleet";
import { JOIN_PHASES, type JoinPhase, joinerMoments, subscribedAt } from "./join-phases";

/** Low video (the machine has two cores) and a 2-second ratchet so a short run sees many rotations. */
const QUERY = "?video=low&rotate=2&test=1";
const FRAME_TIMEOUT_MS = 30_000;
const PAGE_TIMEOUT_MS = 120_000;

// In every page: the first time (epoch ms) each remote tile's video showed a frame. The entry goes
// when the tile goes, so a participant who rejoins is measured again.
const FIRST_FRAME_WATCH = `
window.__benchFrames = {};
setInterval(() => {
  const tiles = new Set();
  for (const tile of document.querySelectorAll("[data-tile]:not([data-screen])")) {
    const id = tile.getAttribute("data-tile");
    tiles.add(id);
    const video = tile.querySelector("video");
    if (video && video.videoWidth > 0 && video.readyState >= 2 && !(id in window.__benchFrames)) {
      window.__benchFrames[id] = Date.now();
    }
  }
  for (const id of Object.keys(window.__benchFrames)) if (!tiles.has(id)) delete window.__benchFrames[id];
}, 10);
`;

interface AppParticipant {
  name: string;
  page: Page;
  id: string | undefined;
}

export interface AppMediaResult {
  firstFrameMs: number[];
  firstFrameTimeouts: number;
  /** Per moment of a join (join-phases.ts), its times from the click over the joins and pairs. */
  joinPhasesMs: Record<JoinPhase, number[]>;
  rotations: number;
  /** Null when the run stopped before the rotation window was over. */
  decryptFailures: number | null;
  /** Frames the stayers' guards refused over the same window, by reason (null likewise). */
  refusedFrames: RefusedFrames | null;
  joins: number;
  /** Why the run stopped early, if it did. */
  incomplete: string | null;
}

type RefusedFrames = HushTestView["refused"][string];

/** A page's refused frames summed over every sender. */
function refusedTotal(view: HushTestView): RefusedFrames {
  const total = { serverInjected: 0, keyNotAllowed: 0, replay: 0, notDecrypted: 0 };
  for (const counts of Object.values(view.refused)) {
    total.serverInjected += counts.serverInjected;
    total.keyNotAllowed += counts.keyNotAllowed;
    total.replay += counts.replay;
    total.notDecrypted += counts.notDecrypted;
  }
  return total;
}

function view(page: Page): Promise<HushTestView> {
  return page.evaluate(() => (window as unknown as { __hush: HushTestView }).__hush);
}

function firstFrames(page: Page): Promise<Record<string, number>> {
  return page.evaluate(
    () => (window as unknown as { __benchFrames: Record<string, number> }).__benchFrames ?? {},
  );
}

async function poll<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(50);
  }
  return undefined;
}

export async function runAppMedia(opts: {
  browser: RunningBrowser;
  origin: string;
  participants: number;
  /** Leave-and-rejoin rounds after everyone joined (each gives 2(n-1) more samples). */
  rejoinRounds: number;
  /** Seconds of steady rotation to watch for decrypt failures. */
  steadySeconds: number;
  log: (line: string) => void;
}): Promise<AppMediaResult> {
  const people: AppParticipant[] = [];
  for (let i = 0; i < opts.participants; i++) {
    const context = await opts.browser.newParticipant(opts.origin);
    // Four browsers on two cores: page loads can take a while when the machine is busy.
    context.setDefaultTimeout(PAGE_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(PAGE_TIMEOUT_MS);
    await context.addInitScript(FIRST_FRAME_WATCH);
    people.push({ name: `Bench ${i + 1}`, page: await context.newPage(), id: undefined });
  }
  const creator = people[0];
  if (!creator) throw new Error("no participants");
  await creator.page.goto(`${opts.origin}/${QUERY}`);
  await creator.page.getByRole("button", { name: "New call" }).click();
  const link = await creator.page.getByLabel("Invite link").inputValue();
  const fragment = link.slice(link.indexOf("#"));

  const firstFrameMs: number[] = [];
  let firstFrameTimeouts = 0;
  const joinPhasesMs = {} as Record<JoinPhase, number[]>;
  for (const phase of JOIN_PHASES) joinPhasesMs[phase] = [];
  let joins = 0;
  const inCall: AppParticipant[] = [];

  const join = async (person: AppParticipant) => {
    if (person !== creator || joins > 0) {
      await person.page.goto(`${opts.origin}/${QUERY}${fragment}`);
    }
    await person.page.getByLabel(/Your name/).fill(person.name);
    const button = person.page.getByRole("button", { name: "Join call" });
    await button.waitFor();
    const clickedAt = Date.now();
    await button.click();
    joins++;
    person.id = await poll(async () => (await view(person.page)).selfId, FRAME_TIMEOUT_MS);
    if (!person.id) throw new Error(`${person.name} was never admitted`);
    const existing = inCall.filter((p) => p.id);
    inCall.push(person);
    // Joiner ← each member, and each member ← joiner.
    const waits = existing.flatMap((member) => [
      { watcher: person, sender: member, direction: "joiner" as const },
      { watcher: member, sender: person, direction: "member" as const },
    ]);
    await Promise.all(
      waits.map(async ({ watcher, sender, direction }) => {
        const at = await poll(
          async () => (await firstFrames(watcher.page))[sender.id ?? ""],
          FRAME_TIMEOUT_MS,
        );
        if (at === undefined) {
          firstFrameTimeouts++;
          return;
        }
        firstFrameMs.push(at - clickedAt);
        joinPhasesMs[`${direction}FirstFrame`].push(at - clickedAt);
        const subscribed = subscribedAt(await view(watcher.page), sender.id ?? "", clickedAt);
        if (subscribed !== undefined) joinPhasesMs[`${direction}Subscribed`].push(subscribed);
      }),
    );
    // A lone creator's join has no one to key it or watch it: only joins into a call count.
    if (existing.length > 0) {
      const moments = joinerMoments(await view(person.page), clickedAt);
      for (const phase of JOIN_PHASES) {
        const ms = moments[phase];
        if (ms !== undefined) joinPhasesMs[phase].push(ms);
      }
    }
  };

  let decryptFailures: number | null = null;
  let refusedFrames: RefusedFrames | null = null;
  let rotations = 0;
  let incomplete: string | null = null;
  try {
    for (const person of people) {
      await join(person);
      opts.log(`  ${person.name} joined (${firstFrameMs.length} first-frame samples so far)`);
    }
    // Steady rotation, then leave-and-rejoin rounds, counting decrypt failures of the members that
    // stay throughout (a joiner's own wait for its first key is not a rotation failure).
    const stayers = people.slice(0, -1);
    const churner = people.at(-1);
    if (!churner) throw new Error("no participant to leave and rejoin");
    const before = await Promise.all(stayers.map((p) => view(p.page)));
    await sleep(opts.steadySeconds * 1000);
    for (let round = 0; round < opts.rejoinRounds; round++) {
      await churner.page.goto("about:blank");
      inCall.splice(inCall.indexOf(churner), 1);
      await sleep(3_000);
      await join(churner);
      opts.log(`  rejoin ${round + 1}: ${firstFrameMs.length} first-frame samples`);
      await sleep(2_000);
    }
    const after = await Promise.all(stayers.map((p) => view(p.page)));
    decryptFailures = after.reduce(
      (sum, v, i) => sum + (v.decryptErrors - (before[i]?.decryptErrors ?? 0)),
      0,
    );
    refusedFrames = { serverInjected: 0, keyNotAllowed: 0, replay: 0, notDecrypted: 0 };
    for (const [i, v] of after.entries()) {
      const was = before[i];
      const now = refusedTotal(v);
      const then = was ? refusedTotal(was) : undefined;
      for (const reason of Object.keys(refusedFrames) as (keyof RefusedFrames)[]) {
        refusedFrames[reason] += now[reason] - (then?.[reason] ?? 0);
      }
    }
    rotations = Math.max(
      0,
      Math.min(...after.map((v) => v.sendingEpoch ?? 0)) -
        Math.max(...before.map((v) => v.sendingEpoch ?? 0)),
    );
  } catch (error) {
    // Keep what was measured; say what was not. First line only: no URLs with secrets in reports.
    incomplete = (error as Error).message.split("\n")[0] ?? "unknown error";
    opts.log(`  media run stopped early: ${incomplete}`);
  } finally {
    for (const person of people)
      await person.page
        .context()
        .close()
        .catch(() => {});
  }
  return {
    firstFrameMs,
    firstFrameTimeouts,
    joinPhasesMs,
    rotations,
    decryptFailures,
    refusedFrames,
    joins,
    incomplete,
  };
}
