// A call of real Chromium pages for the chaos suite, and the one convergence check every case ends
// with: every verified pair decodes a real (non-black) picture that keeps moving, everyone sends
// with one epoch, shows one security code over the same roster, and livekit holds only keys the
// core holds. The check waits for that within a generous deadline and fails only when it is stuck,
// with everything each page knows in the message.
import { expect } from "vitest";
import type { RunningBrowser } from "../support/browser";
import { encodeCallSecret, generateCallSecret, systemRandom } from "../../web/src/core";
import type { HushTestView } from "../../web/src/app/testHooks";
import type { MediaProbe } from "../../web/src/media/mediaProbe";
import {
  joinFromPreJoin,
  openPage,
  type Participant,
  sleep,
  tilePixels,
  view,
  waitFor,
} from "../e2e/pages";
import { fasterHeartbeat } from "./heartbeat";

/**
 * Low-resolution video and test hooks, with the core's own 30 s ratchet: a recovery must come
 * from the reconnect itself, not from the next rotation handing livekit fresh keys.
 */
export const CHAOS_QUERY = "?video=low&test=1";

export interface Call {
  link: string;
  people: Participant[];
  /** Participant id of each page's current membership (a rejoin gets a new one). */
  id(participant: Participant): string;
}

export function newCallLink(origin: string): string {
  return `${origin}/${CHAOS_QUERY}#${encodeCallSecret(generateCallSecret(systemRandom))}`;
}

export interface JoinOptions {
  /** Ping the Room this often (heartbeat.ts), for a Worker with a short liveness timeout. */
  heartbeatMs?: number;
}

/** Opens a page for `name` and joins `link` through the pre-join screen. */
export async function joinAs(
  browser: RunningBrowser,
  origin: string,
  link: string,
  name: string,
  opts: JoinOptions = {},
): Promise<Participant> {
  const context = await browser.newParticipant(origin);
  if (opts.heartbeatMs !== undefined) await fasterHeartbeat(context, opts.heartbeatMs);
  const participant = await openPage(context, name);
  await participant.page.goto(link);
  await participant.page.getByRole("button", { name: "Join call" }).waitFor({ timeout: 60_000 });
  await joinFromPreJoin(participant);
  return participant;
}

/** `names` join one new call in order (the first leads) and converge. */
export async function startCall(
  browser: RunningBrowser,
  origin: string,
  names: string[],
  opts: JoinOptions = {},
): Promise<Call> {
  const link = newCallLink(origin);
  const people: Participant[] = [];
  for (const name of names) people.push(await joinAs(browser, origin, link, name, opts));
  const call: Call = { link, people, id: () => "" };
  await converge(call, "the call to start", 120_000);
  return call;
}

/** What the page's WebRTC and livekit say about its senders and subscriptions (mediaProbe.ts). */
export function probe(participant: Participant): Promise<MediaProbe | undefined> {
  return participant.page.evaluate(() =>
    (
      window as unknown as { __hushTest: { probeMedia(): Promise<MediaProbe | undefined> } }
    ).__hushTest.probeMedia(),
  );
}

export async function views(call: Call): Promise<HushTestView[]> {
  return Promise.all(call.people.map(view));
}

/** Parses MediaKeys.log lines: "time recv|send|wipe id4 [eN] iS". */
export function keyLogEntries(v: HushTestView): { at: number; kind: string; epoch?: number }[] {
  return v.keyLog.map((line) => {
    const [at, kind, , epoch] = line.split(" ");
    return {
      at: Number(at),
      kind: kind ?? "",
      epoch: epoch?.startsWith("e") ? Number(epoch.slice(1)) : undefined,
    };
  });
}

function describePage(participant: Participant, v: HushTestView | undefined): string {
  if (!v) return `${participant.name}: no view`;
  const { receive, refused, decryptErrorsBy, tileStates } = v;
  return [
    `${participant.name} (${v.selfId}) screen=${v.screen} connection=${v.connection} sending=${v.sendingEpoch} epochs=${JSON.stringify(v.keyEpochs)} roster=${JSON.stringify(v.rosterIds)} code=${v.securityCode}`,
    `  plan=${JSON.stringify(v.mediaPlan)} tiles=${JSON.stringify(tileStates)}`,
    `  receive=${JSON.stringify(receive)}`,
    `  decryptErrorsBy=${JSON.stringify(decryptErrorsBy)} refused=${JSON.stringify(refused)} sendBlocked=${v.sendBlocked} sendErrors=${v.sendErrors}`,
    `  keyLog=${JSON.stringify(v.keyLog.slice(-12))}`,
    `  errorLog=${JSON.stringify(v.errorLog.slice(-4))}`,
    `  connectionLog=${JSON.stringify(v.connectionLog.slice(-8))}`,
    `  console:\n    ${participant.console.slice(-15).join("\n    ")}`,
  ].join("\n");
}

export interface Convergence {
  /** Milliseconds from the start of the check until it held. */
  tookMs: number;
  /**
   * Milliseconds from the start of the check until the last pair to recover began the run of
   * decoded frames that ended the check (the page samples its statistics once a second, so this
   * is up to a second late); what the check adds to that (20 frames, a picture) is not counted.
   */
  decodingAfterMs: number;
  views: HushTestView[];
}

/** A pair whose decoded-frame count rose this recently is decoding now. */
const RISE_WINDOW_MS = 2_500;

/**
 * Waits until the call has converged (see the file comment), polling every page. A pair counts as
 * decoding once it has decoded 20 more frames since the check began (a stream that was recreated
 * counts from 0 again) and its count rose within the last RISE_WINDOW_MS; its tile must show a
 * picture with contrast and say "encrypted".
 */
export async function converge(call: Call, what: string, timeoutMs: number): Promise<Convergence> {
  const started = Date.now();
  const gained = new Map<string, number>();
  const last = new Map<string, number>();
  const roseAt = new Map<string, number>();
  /** When each pair's current run of rising counts began. */
  const streakFrom = new Map<string, number>();
  let latest: HushTestView[] = [];
  let pending: string[] = [];
  await waitFor(
    async () => {
      const probes = await Promise.all(call.people.map((p) => probe(p).catch(() => undefined)));
      const pages = call.people.map(
        (p, i) => `${describePage(p, latest[i])}\n  media=${JSON.stringify(probes[i])}`,
      );
      return `${what}; not yet: ${pending.join("; ")}\n${pages.join("\n")}`;
    },
    async () => {
      latest = await views(call);
      pending = [];
      const ids = latest.map((v) => v.selfId ?? "");
      const sorted = [...ids].sort().join(",");
      for (const [i, participant] of call.people.entries()) {
        const v = latest[i] as HushTestView;
        if (v.screen !== "call") pending.push(`${participant.name} on screen ${v.screen}`);
        if ([...v.rosterIds].sort().join(",") !== sorted)
          pending.push(`${participant.name}'s roster`);
        for (const [j, sender] of call.people.entries()) {
          if (i === j) continue;
          const senderId = ids[j] ?? "";
          const key = `${participant.name}<-${sender.name}/${senderId}`;
          const frames = v.receive[senderId]?.videoFramesDecoded ?? 0;
          const before = last.get(key);
          const delta = before === undefined ? 0 : frames >= before ? frames - before : frames;
          if (delta > 0) {
            const now = Date.now();
            if (now - (roseAt.get(key) ?? 0) >= RISE_WINDOW_MS) streakFrom.set(key, now);
            roseAt.set(key, now);
          }
          gained.set(key, (gained.get(key) ?? 0) + delta);
          last.set(key, frames);
          // The page samples WebRTC's statistics once a second: a count may stand for a poll.
          const rose = Date.now() - (roseAt.get(key) ?? 0) < RISE_WINDOW_MS;
          if (!rose || (gained.get(key) ?? 0) < 20 || v.tileStates[senderId] !== "encrypted") {
            pending.push(`${key} (gained ${gained.get(key)}, tile ${v.tileStates[senderId]})`);
            continue;
          }
          const pixels = await tilePixels(participant, senderId);
          if (pixels.width === 0 || pixels.mean <= 20 || pixels.variance <= 100)
            pending.push(`${key} picture ${JSON.stringify(pixels)}`);
        }
      }
      const sending = new Set(latest.map((v) => v.sendingEpoch));
      if (sending.size !== 1 || sending.has(undefined))
        pending.push(`sending epochs ${latest.map((v) => v.sendingEpoch).join("/")}`);
      if (new Set(latest.map((v) => v.securityCode)).size !== 1)
        pending.push("security codes differ");
      return pending.length === 0;
    },
    timeoutMs,
  );
  const ids = latest.map((v) => v.selfId ?? "");
  call.id = (participant) => ids[call.people.indexOf(participant)] ?? "";
  const decodingAfterMs = Math.max(0, ...[...streakFrom.values()].map((at) => at - started));
  return { tookMs: Date.now() - started, decodingAfterMs, views: latest };
}

/** livekit's plan holds, per sender, only epochs the core holds right now. */
export function planWithinCore(v: HushTestView): boolean {
  const held = new Set(v.keyEpochs);
  const planned = [...Object.values(v.mediaPlan.receive).flat()];
  if (v.mediaPlan.send !== null) planned.push(v.mediaPlan.send);
  return planned.every((epoch) => held.has(epoch));
}

export async function closeCall(call: Call): Promise<void> {
  await Promise.allSettled(call.people.map((p) => p.context.close()));
}

export interface DecodingWatch {
  /** Stops watching; per pair ("Alice<-Bob"), the longest time its decoded frames did not rise. */
  stop(): Promise<Record<string, number>>;
}

/**
 * Polls `call`'s pages every 500 ms and keeps, per pair, the longest time between two polls in
 * which the receiver's decoded-frame count for that sender rose (the page samples WebRTC once a
 * second, so a healthy pair shows gaps of about a second). Reads only the pages of `call`: a
 * frozen page must not be among them (evaluate would wait for it).
 */
export function watchDecoding(call: Call): DecodingWatch {
  const lastRise = new Map<string, number>();
  const lastCount = new Map<string, number>();
  const worst = new Map<string, number>();
  const started = Date.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const latest = await views(call).catch(() => undefined);
      if (!latest) break;
      const now = Date.now();
      for (const [i, receiver] of call.people.entries()) {
        for (const [j, sender] of call.people.entries()) {
          if (i === j) continue;
          const key = `${receiver.name}<-${sender.name}`;
          const senderId = latest[j]?.selfId ?? "";
          const frames = latest[i]?.receive[senderId]?.videoFramesDecoded ?? 0;
          const before = lastCount.get(key);
          lastCount.set(key, frames);
          if (before !== undefined && frames !== before) lastRise.set(key, now);
          const since = lastRise.get(key) ?? started;
          worst.set(key, Math.max(worst.get(key) ?? 0, now - since));
        }
      }
      await sleep(500);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Object.fromEntries(worst);
    },
  };
}

/**
 * The stayers see `goneId` leave, the first of them (the key leader) rotates it out with a fresh
 * key (a rotation for a leave, after the `rotationsBefore` it had made), every stayer sends with that
 * key or a later one, and no stayer's plan keeps a ring for it. Returns the fresh key's epoch and
 * when the last stayer saw the leave.
 */
export async function expectRotatedOut(
  rest: Call,
  goneId: string,
  rotationsBefore: number,
): Promise<{ fresh: number; leftAt: number }> {
  const leader = rest.people[0];
  if (!leader) throw new Error("no one stayed");
  for (const participant of rest.people) {
    await waitFor(
      `${participant.name} to see ${goneId} leave`,
      async () => !(await view(participant)).rosterIds.includes(goneId),
      60_000,
    );
  }
  const leftAt = Date.now();
  let fresh = 0;
  await waitFor(
    async () =>
      `${leader.name} to rotate ${goneId} out: ${JSON.stringify((await view(leader)).rotations)}`,
    async () => {
      const rotation = (await view(leader)).rotations
        .slice(rotationsBefore)
        .find((r) => r.fresh && r.reason === "leave");
      fresh = rotation?.epoch ?? 0;
      return fresh > 0;
    },
    60_000,
  );
  await waitFor(
    "the stayers to send with the fresh key",
    async () => (await views(rest)).every((v) => (v.sendingEpoch ?? 0) >= fresh),
    60_000,
  );
  for (const v of await views(rest)) {
    expect(v.rosterIds).not.toContain(goneId);
    expect(v.mediaPlan.receive[goneId], "no ring for the one who left in the plan").toBeUndefined();
    expect(planWithinCore(v)).toBe(true);
  }
  return { fresh, leftAt };
}
