// A leader driven by hand whose members acknowledge every fresh key at once: for schedule-level
// attacks on the leader's own rules, without a relay or member schedules.
import { KeySchedule } from "../../../web/src/core/key-schedule.js";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type RosterMember,
  type ScheduleAction,
  type ScheduleEvent,
} from "../../../web/src/core/schedule-types.js";
import { seededRandom } from "./seeded-random.js";

/** Bounds the acks one event can set off (each fresh key acked by every recipient). */
const MAX_ROUNDS = 10_000;

export interface AckingLeader {
  readonly leader: KeySchedule;
  /** What the leader did on joining (its first fresh key, and its commit once acked). */
  readonly joined: ScheduleAction[];
  /** Handles `event` and the acks it sets off; returns every action, the acks' included. */
  handle(event: ScheduleEvent, now: number): ScheduleAction[];
  /** Wakes the leader when it asks, checked every `stepMs` from `from` to `until`. */
  run(
    from: number,
    until: number,
    stepMs: number,
    each?: (actions: ScheduleAction[], now: number, woke: boolean) => void,
  ): void;
}

/** Leader `self` (the lowest seq) keyed with `members` at time 0, every fresh key acked. */
export function ackingLeader(
  seed: string,
  self: RosterMember,
  members: RosterMember[],
): AckingLeader {
  const leader = new KeySchedule(DEFAULT_SCHEDULE_CONFIG, seededRandom(seed));
  const handle = (event: ScheduleEvent, now: number): ScheduleAction[] => {
    const seen: ScheduleAction[] = [];
    const queue = [leader.handle(event, now)];
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const actions = queue.shift();
      if (!actions) break;
      for (const action of actions) {
        seen.push(action);
        if (action.type !== "send" || action.message.type !== "key") continue;
        if (action.message.kind !== "fresh") continue;
        const ack = { type: "ack" as const, epoch: action.message.epoch, have: 0 };
        queue.push(leader.handle({ type: "key-message", from: action.to, message: ack }, now));
      }
    }
    return seen;
  };
  const run: AckingLeader["run"] = (from, until, stepMs, each) => {
    for (let now = from; now <= until; now += stepMs) {
      const wake = leader.nextWakeAt();
      const woke = wake !== undefined && wake <= now;
      each?.(woke ? handle({ type: "tick" }, now) : [], now, woke);
    }
  };
  const joined = handle({ type: "joined", self, members, pending: [] }, 0);
  return { leader, joined, handle, run };
}
