// A key's holders on the wire (docs/key-schedule.md, Key messages): the join seqs, ascending, with
// every run of three or more consecutive seqs written as its [first, last]. Seqs are handed out in
// join order, so a call's holders are a few long runs with a hole per leave: 200 holders take a
// dozen bytes instead of 800, and the fresh key's message is sealed n-2 times.
import { z } from "zod";
import { LIMITS } from "../../../protocol/signalling.js";

const Seq = z.number().int().nonnegative().max(0xffffffff);

/** The shortest run written as a pair: two seqs are no longer as numbers than as [a,b]. */
const MIN_PAIRED_RUN = 3;

type HolderItem = number | [number, number];

/**
 * At most 1,000 items (single seqs and [first, last] runs with first < last), standing for at most
 * 1,000 seqs: checked before anything is expanded, so a run can never cost more than its bound.
 * Items need not be in order (a version-1 sender wrote a plain list in any order); repeats count
 * towards the bound and are otherwise harmless.
 */
export const HolderRuns = z
  .array(
    z.union([
      Seq,
      z
        .tuple([Seq, Seq])
        .refine(([first, last]) => first < last, "a run's first seq must be below its last"),
    ]),
  )
  .max(LIMITS.sendItems)
  .refine((items) => seqCountOf(items) <= LIMITS.sendItems, `at most ${LIMITS.sendItems} holders`);

function seqCountOf(items: readonly HolderItem[]): number {
  let count = 0;
  for (const item of items) count += typeof item === "number" ? 1 : item[1] - item[0] + 1;
  return count;
}

/** The wire form of `seqs`: ascending, repeats dropped, runs of three or more as pairs. */
export function holderRunsOf(seqs: Iterable<number>): HolderItem[] {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const items: HolderItem[] = [];
  const close = (first: number, last: number) => {
    if (last - first + 1 >= MIN_PAIRED_RUN) items.push([first, last]);
    else for (let seq = first; seq <= last; seq += 1) items.push(seq);
  };
  let run: [number, number] | undefined;
  for (const seq of sorted) {
    if (run && seq === run[1] + 1) run[1] = seq;
    else {
      if (run) close(run[0], run[1]);
      run = [seq, seq];
    }
  }
  if (run) close(run[0], run[1]);
  return items;
}

/** The seqs a parsed (so bounded) holder list stands for. */
export function seqsOfRuns(items: readonly HolderItem[]): number[] {
  const seqs: number[] = [];
  for (const item of items) {
    if (typeof item === "number") seqs.push(item);
    else for (let seq = item[0]; seq <= item[1]; seq += 1) seqs.push(seq);
  }
  return seqs;
}
