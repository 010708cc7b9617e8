// A member of a call, driven event by event on a hand clock, for the retention tests
// (key-retention.test.ts, retention-redteam.test.ts). It keeps a shell-side copy of what is
// installed (checked against the schedule after every event) and notes every install that brought
// back a key its epoch had lost.
//
// Cast (as member M, seq 3, sees them): L1 seq 1 (leader), L2 seq 2 (next leader), N seq 4, O seq 5.
import { expect } from "vitest";
import { equalBytes } from "../../web/src/core/bytes.js";
import { keyCheckOf, ratchetGroupKey } from "../../web/src/core/identifiers.js";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { seededRandom } from "./sim/seeded-random.js";

export const ID = (n: number) => `participant${String(n).padStart(11, "0")}`; // 22 chars
export const config = DEFAULT_SCHEDULE_CONFIG;
export const GRACE = config.retireGraceMs;
/** Chain of L1 that N (and O) hold: began at epoch 3, M holds epoch 5 of it. */
export const CHAIN_KEY = new Uint8Array(32).fill(7);
const KEYRING = 16;

export function ratchets(key: Uint8Array, steps: number): Uint8Array {
  let out = key;
  for (let i = 0; i < steps; i++) out = ratchetGroupKey(out);
  return out;
}
/** The old chain's key at `epoch` (epoch 5 = CHAIN_KEY; 3 and 4 are not derivable, never installed). */
export const oldChain = (epoch: number) => ratchets(CHAIN_KEY, epoch - 5);

type Event = Parameters<KeySchedule["handle"]>[0];

/** M, keyed at epoch 5 of L1's chain (holders 1..5), with a shell-side copy of what is installed. */
export function member() {
  const schedule = new KeySchedule(config, seededRandom("redteam"));
  const installed = new Map<number, Uint8Array>();
  /** Keys an epoch held and lost (overwritten or retired): their replay windows are gone. */
  const lost = new Map<number, Uint8Array[]>();
  /** Installs that brought back bytes an epoch had lost: the frame guard opens fresh windows. */
  const reinstalled: string[] = [];
  let clock = 0;
  const run = (event: Event, now: number) => {
    clock = now;
    const out: ScheduleAction[] = schedule.handle(event, now);
    for (const action of out) {
      if (action.type === "install") {
        const before = installed.get(action.epoch);
        if (before) lost.set(action.epoch, [...(lost.get(action.epoch) ?? []), before]);
        if ((lost.get(action.epoch) ?? []).some((k) => equalBytes(k, action.groupKey))) {
          reinstalled.push(`epoch ${action.epoch} at t=${now}`);
        }
        installed.set(action.epoch, action.groupKey);
      }
      if (action.type === "retire") {
        const before = installed.get(action.epoch);
        if (before) lost.set(action.epoch, [...(lost.get(action.epoch) ?? []), before]);
        installed.delete(action.epoch);
      }
    }
    expect([...installed.keys()].sort((a, b) => a - b)).toEqual(schedule.installedEpochs());
    return out;
  };
  const tick = (now: number) => run({ type: "tick" }, now);
  /** Ticks at every wake up to `until`, as the session's timer does; fails on a busy loop. */
  const runUntil = (until: number) => {
    for (let guard = 0; guard < 1_000; guard++) {
      const wake = schedule.nextWakeAt();
      if (wake === undefined || wake > until) return tick(until);
      tick(Math.max(clock, wake));
      const again = schedule.nextWakeAt();
      if (again !== undefined && again <= clock) {
        // A wake at or before the time just handled would fire again at once.
        throw new Error(`busy wake: nextWakeAt ${again} after a tick at ${clock}`);
      }
    }
    throw new Error("more than 1000 wakes");
  };
  run(
    {
      type: "joined",
      self: { participantId: ID(3), seq: 3 },
      members: [1, 2, 4, 5].map((n) => ({ participantId: ID(n), seq: n })),
      pending: [],
    },
    0,
  );
  run(
    {
      type: "key-message",
      from: ID(1),
      message: {
        type: "key",
        epoch: 5,
        groupKey: CHAIN_KEY,
        kind: "ratchet-join",
        chainStart: 3,
        leaderSeq: 1,
        holders: [1, 2, 3, 4, 5],
      },
    },
    0,
  );
  expect(schedule.sendingEpoch).toBe(5);
  const ratchet = (epoch: number, now: number, from = 1, chainStart = 3, key = oldChain(epoch)) =>
    run(
      {
        type: "broadcast",
        from: ID(from),
        body: { kind: "ratchet", epoch, chainStart, leaderSeq: from, keyCheck: keyCheckOf(key) },
      },
      now,
    );
  const fresh = (epoch: number, groupKey: Uint8Array, now: number, from = 1, holders = [1, 2, 3]) =>
    run(
      {
        type: "key-message",
        from: ID(from),
        message: {
          type: "key",
          epoch,
          groupKey,
          kind: "fresh",
          chainStart: epoch,
          leaderSeq: from,
          holders,
        },
      },
      now,
    );
  const commit = (epoch: number, groupKey: Uint8Array, now: number, from = 1) =>
    run(
      {
        type: "broadcast",
        from: ID(from),
        body: {
          kind: "commit",
          epoch,
          chainStart: epoch,
          leaderSeq: from,
          keyCheck: keyCheckOf(groupKey),
        },
      },
      now,
    );
  const left = (n: number, now: number) =>
    run({ type: "member-left", participantId: ID(n), seq: n }, now);
  /** Installed epochs that carry a key of L1's old chain (which every leaver of it can derive). */
  const oldChainInstalled = () =>
    [...installed].filter(([e, k]) => e >= 5 && equalBytes(k, oldChain(e))).map(([e]) => e);
  const slotsCollide = () => {
    const epochs = schedule.installedEpochs();
    return new Set(epochs.map((e) => e % KEYRING)).size !== epochs.length;
  };
  return {
    schedule,
    installed,
    reinstalled,
    run,
    tick,
    runUntil,
    ratchet,
    fresh,
    commit,
    left,
    oldChainInstalled,
    slotsCollide,
  };
}
