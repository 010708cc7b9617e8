// CPU time of a set of processes, read from /proc (Linux): the media benchmark compares the CPU the
// browser spends with end-to-end encryption on and off. Times are user + system, in milliseconds.
import { readdirSync, readFileSync } from "node:fs";

/** Kernel clock ticks per second (`getconf CLK_TCK`); 100 on every mainstream Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  cpuMs: number;
}

/** Parses /proc/PID/stat; the command name may hold spaces and parentheses, so split at the last ")". */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const fields = text.slice(close + 2).split(" ");
  // Fields after the name, 0-based: 0 state, 1 ppid, ..., 11 utime, 12 stime (proc(5): 3, 4, 14, 15).
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (![pid, ppid, utime, stime].every(Number.isFinite)) return null;
  return {
    pid,
    comm: text.slice(open + 1, close),
    ppid,
    cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND,
  };
}

function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = parseProcStat(readFileSync(`/proc/${entry}/stat`, "utf8"));
      if (stat) out.push(stat);
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** Live descendants of `root` whose command name matches `comm`, with their CPU time so far. */
export function descendantCpu(root: number, comm: RegExp): Map<number, number> {
  const processes = allProcesses();
  const children = new Map<number, ProcStat[]>();
  for (const p of processes) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const out = new Map<number, number>();
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const p = stack.pop();
    if (!p) break;
    if (comm.test(p.comm)) out.set(p.pid, p.cpuMs);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** CPU milliseconds the matching descendants spent between two readings (new processes count in full). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/**
 * CPU time of every thread of the given processes, summed by thread name (digits stripped, so a
 * pool's threads count as one): where a browser spends its time, e.g. its dedicated workers (the
 * E2EE worker), WebRTC's threads, the renderer's main thread.
 */
export function threadCpuByName(pids: Iterable<number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // The process ended while we looked.
    }
    for (const tid of tids) {
      try {
        const stat = parseProcStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
        if (!stat) continue;
        const name = stat.comm.replace(/[\s\d]+$/, "") || stat.comm;
        out.set(name, (out.get(name) ?? 0) + stat.cpuMs);
      } catch {
        // The thread ended while we looked.
      }
    }
  }
  return out;
}

/** What each thread name spent between two readings (threads that ended in between are lost). */
export function threadCpuBetween(
  before: Map<string, number>,
  after: Map<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, ms] of after) out.set(name, Math.max(0, ms - (before.get(name) ?? 0)));
  return out;
}
