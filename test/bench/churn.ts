// The churn run (issue 6): random joins and leaves for a while, the key leader included, with a
// check after every change of any member's keys, sending epoch or membership: does every keyed
// member hold the key each other keyed member is sending with right now (same epoch, same bytes)?
// A member still waiting for its first key is joining, not lacking; its wait is reported as
// join → key. Keys of epochs that began before a member joined are not counted either: by design it
// must never get them (forward secrecy at join), so frames sent with them are not for it. At the
// end the call must converge: every member on one epoch with one key. Unlike the signalling section,
// its clients stay in one process (the in-process Fleet): the check compares every member's key bytes
// in memory after every change, and its 12 to 45 members are few enough not to need spreading.
import { groupKeyOf } from "../support/session-keys";
import { Fleet, type FleetMember, sameBytes, sleep, waitFor } from "./fleet";
import type { ChurnResult } from "./results";
import { summarize } from "./stats";

export interface ChurnOptions {
  wsUrl: (roomId: string) => string;
  seconds: number;
  /** Members at the start; the run keeps between half and one and a half times this many. */
  targetMembers: number;
  log: (line: string) => void;
}

export async function runChurnBench(opts: ChurnOptions): Promise<ChurnResult> {
  const fleet = new Fleet(opts.wsUrl);
  const minMembers = Math.max(2, Math.floor(opts.targetMembers / 2));
  const maxMembers = Math.ceil(opts.targetMembers * 1.5);
  const keyedSince = new Map<FleetMember, number>();
  const gapSince = new Map<FleetMember, number>();
  const gapMs: number[] = [];
  let keyedMemberMs = 0;
  let checks = 0;
  let checksWithGap = 0;
  let gapsBehind = 0;
  let gapsAhead = 0;
  let measuring = false;

  const closeGap = (member: FleetMember, now: number) => {
    const since = gapSince.get(member);
    if (since === undefined) return;
    gapSince.delete(member);
    gapMs.push(now - since);
  };
  const retire = (member: FleetMember, now: number) => {
    closeGap(member, now);
    const since = keyedSince.get(member);
    if (since !== undefined) keyedMemberMs += now - since;
    keyedSince.delete(member);
  };

  const check = () => {
    const now = performance.now();
    const keyed = fleet.members().filter((m) => m.connected && m.firstEpoch !== undefined);
    for (const member of [...keyedSince.keys()]) if (!keyed.includes(member)) retire(member, now);
    for (const member of keyed) if (!keyedSince.has(member)) keyedSince.set(member, now);
    // The distinct keys in use for sending right now.
    const inUse: { epoch: number; key: Uint8Array }[] = [];
    for (const sender of keyed) {
      const key = groupKeyOf(sender.session, sender.sendingEpoch);
      if (!key) continue;
      if (!inUse.some((k) => k.epoch === sender.sendingEpoch && sameBytes(k.key, key))) {
        inUse.push({ epoch: sender.sendingEpoch, key });
      }
    }
    checks++;
    let anyGap = false;
    for (const receiver of keyed) {
      const lacking = inUse.filter(({ epoch, key }) => {
        if (epoch < (receiver.firstEpoch ?? 0)) return false;
        const held = groupKeyOf(receiver.session, epoch);
        return !held || !sameBytes(held, key);
      });
      if (lacking.length > 0) {
        anyGap = true;
        if (!gapSince.has(receiver)) {
          gapSince.set(receiver, now);
          // Behind: a sender already uses a newer key. Ahead: the receiver dropped a key a slower
          // sender still uses.
          if (lacking.some(({ epoch }) => epoch > receiver.sendingEpoch)) gapsBehind++;
          else gapsAhead++;
        }
      } else {
        closeGap(receiver, now);
      }
    }
    if (anyGap) checksWithGap++;
  };
  let scheduled = false;
  fleet.onChange(() => {
    if (!measuring || scheduled) return;
    scheduled = true;
    // Once the event that caused the change has been handled completely.
    queueMicrotask(() => {
      scheduled = false;
      check();
    });
  });

  try {
    // Start from a settled call of the target size.
    await fleet.join();
    while (fleet.members().length < opts.targetMembers) {
      const size = Math.min(5, opts.targetMembers - fleet.members().length);
      await Promise.all(Array.from({ length: size }, () => fleet.join()));
    }
    if (!(await waitFor(() => fleet.converged().converged, 30_000, 20))) {
      throw new Error("churn: the starting call did not converge");
    }
    measuring = true;
    check();

    let joins = 0;
    let leaves = 0;
    let leaderLeaves = 0;
    let failedJoins = 0;
    let seenMin = fleet.members().length;
    let seenMax = seenMin;
    const pendingJoins: Promise<void>[] = [];
    const joinToKey: FleetMember[] = [];
    const started = performance.now();
    const deadline = started + opts.seconds * 1000;
    const maxActions = opts.seconds * 40;
    for (let action = 0; action < maxActions && performance.now() < deadline; action++) {
      // Exponential gaps (mean 250 ms) give both lone events and bursts that get coalesced.
      await sleep(Math.min(1_000, Math.max(10, -Math.log(1 - Math.random()) * 250)));
      const admitted = fleet.members().filter((m) => m.seq !== undefined);
      const count = fleet.members().length;
      const join = count < minMembers || (count < maxMembers && Math.random() < 0.5);
      if (join) {
        joins++;
        pendingJoins.push(
          fleet.join().then(
            (member) => void joinToKey.push(member),
            () => void failedJoins++,
          ),
        );
      } else {
        const leaver = admitted[Math.floor(Math.random() * admitted.length)];
        if (!leaver) continue;
        if (leaver === fleet.leader()) leaderLeaves++;
        leaves++;
        fleet.leave(leaver);
        check();
      }
      seenMin = Math.min(seenMin, fleet.members().length);
      seenMax = Math.max(seenMax, fleet.members().length);
    }
    const seconds = (performance.now() - started) / 1000;
    await Promise.race([Promise.allSettled(pendingJoins), sleep(30_000)]);
    const settled = await waitFor(
      () => fleet.members().every((m) => m.firstKeyAt !== undefined) && fleet.converged().converged,
      15_000,
      20,
    );
    check();
    measuring = false;
    const end = performance.now();
    for (const member of [...keyedSince.keys()]) retire(member, end);
    const final = fleet.converged();
    const waits = joinToKey
      .filter((m) => m.firstKeyAt !== undefined)
      .map((m) => (m.firstKeyAt ?? 0) - m.startedAt);
    const result: ChurnResult = {
      seconds,
      joins,
      leaves,
      leaderLeaves,
      failedJoins,
      minMembers: seenMin,
      maxMembers: seenMax,
      checks,
      checksWithGap,
      gaps: gapMs.length,
      gapsReceiverBehind: gapsBehind,
      gapsReceiverAhead: gapsAhead,
      gapMs: gapMs.length > 0 ? summarize(gapMs) : null,
      memberTimeWithoutKey:
        keyedMemberMs > 0 ? Math.min(1, gapMs.reduce((a, b) => a + b, 0) / keyedMemberMs) : 0,
      joinToKeyMs: waits.length > 0 ? summarize(waits) : null,
      socketDrops: fleet.drops(),
      commitTimeouts: fleet.commits.filter((c) => c.timedOut && c.at >= started).length,
      converged: settled && final.converged,
      convergedMembers: final.converged ? fleet.members().length : 0,
      finalEpoch: final.epoch,
    };
    opts.log(
      `  ${joins} joins (${failedJoins} failed), ${leaves} leaves (${leaderLeaves} of the leader), ${result.gaps} key gaps, converged: ${result.converged}`,
    );
    return result;
  } finally {
    measuring = false;
    fleet.closeAll();
    await sleep(200);
  }
}
