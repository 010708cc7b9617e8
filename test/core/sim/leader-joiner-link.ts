// A real leader schedule and a joiner's, driven by hand over an honest link with a fixed one-way
// latency (nothing dropped or reordered), the other members acknowledging every fresh key at once:
// for the glitch tests of a joiner's first key. Counts, every 5 ms, how long the joiner lacks the
// epoch the leader sends with, and how long it sends nothing.
import { KeySchedule } from "../../../web/src/core/key-schedule.js";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type ScheduleAction,
  type ScheduleEvent,
} from "../../../web/src/core/schedule-types.js";
import { memberId } from "./leader-frames.js";
import { seededRandom } from "./seeded-random.js";

export const LINK_LEADER = memberId(1);
const STEP_MS = 5;

export interface LinkWatch {
  /** ms the joiner lacked the leader's sending epoch, while watched. */
  glitchMs: number;
  /** The first such moment, for the failure message. */
  first: string | undefined;
  /** ms the joiner sent nothing, while watched. */
  silentMs: number;
}

export interface LeaderJoinerLink {
  readonly leader: KeySchedule;
  readonly joiner: KeySchedule;
  /** The leader handles `event` now. */
  toLeader(event: ScheduleEvent, now: number): void;
  /** The joiner handles `event` now. */
  toJoiner(event: ScheduleEvent, now: number): void;
  /** The joiner gets `event` at `at` (a room notice on its way). */
  toJoinerAt(event: ScheduleEvent, at: number): void;
  /**
   * Steps from `from` to `until`: `script(now)` first, then the frames due and both wakes; the
   * joiner is watched while `watch(now)` says so.
   */
  run(
    from: number,
    until: number,
    script: (now: number) => void,
    watch: (now: number) => boolean,
  ): LinkWatch;
}

/** Leader seq 1 and joiner `joinerId`; `ackers` are the members that ack fresh keys at once. */
export function leaderJoinerLink(
  joinerId: string,
  ackers: readonly string[],
  latencyMs: number,
): LeaderJoinerLink {
  const leader = new KeySchedule(DEFAULT_SCHEDULE_CONFIG, seededRandom("lead"));
  const joiner = new KeySchedule(DEFAULT_SCHEDULE_CONFIG, seededRandom("joiner"));
  const inFlight: { at: number; to: "leader" | "joiner"; event: ScheduleEvent }[] = [];
  const fromLeader = (actions: ScheduleAction[], now: number): void => {
    for (const a of actions) {
      if (a.type === "send" && ackers.includes(a.to)) {
        if (a.message.type === "key" && a.message.kind === "fresh") {
          const ack = { type: "ack" as const, epoch: a.message.epoch, have: 0 };
          toLeader({ type: "key-message", from: a.to, message: ack }, now);
        }
      } else if (a.type === "send" && a.to === joinerId) {
        const event = { type: "key-message" as const, from: LINK_LEADER, message: a.message };
        inFlight.push({ at: now + latencyMs, to: "joiner", event });
      } else if (a.type === "broadcast") {
        const event = { type: "broadcast" as const, from: LINK_LEADER, body: a.body };
        inFlight.push({ at: now + latencyMs, to: "joiner", event });
      }
    }
  };
  const fromJoiner = (actions: ScheduleAction[], now: number): void => {
    for (const a of actions) {
      if (a.type === "send" && a.to === LINK_LEADER) {
        const event = { type: "key-message" as const, from: joinerId, message: a.message };
        inFlight.push({ at: now + latencyMs, to: "leader", event });
      }
    }
  };
  const toLeader = (event: ScheduleEvent, now: number) =>
    fromLeader(leader.handle(event, now), now);
  const toJoiner = (event: ScheduleEvent, now: number) =>
    fromJoiner(joiner.handle(event, now), now);
  return {
    leader,
    joiner,
    toLeader,
    toJoiner,
    toJoinerAt: (event, at) => inFlight.push({ at, to: "joiner", event }),
    run(from, until, script, watch) {
      const seen: LinkWatch = { glitchMs: 0, first: undefined, silentMs: 0 };
      for (let now = from; now <= until; now += STEP_MS) {
        script(now);
        for (const f of inFlight.filter((x) => x.at <= now)) {
          inFlight.splice(inFlight.indexOf(f), 1);
          if (f.to === "joiner") toJoiner(f.event, now);
          else toLeader(f.event, now);
        }
        const leaderWake = leader.nextWakeAt();
        if (leaderWake !== undefined && leaderWake <= now) toLeader({ type: "tick" }, now);
        const joinerWake = joiner.nextWakeAt();
        if (joinerWake !== undefined && joinerWake <= now) toJoiner({ type: "tick" }, now);
        if (!watch(now)) continue;
        const sending = leader.sendingEpoch;
        if (sending !== 0 && !joiner.installedEpochs().includes(sending)) {
          seen.glitchMs += STEP_MS;
          seen.first ??= `t=${now}: leader sends ${sending}, J accepts [${joiner.installedEpochs()}]`;
        }
        if (joiner.sendingEpoch === 0) seen.silentMs += STEP_MS;
      }
      return seen;
    },
  };
}
