// Freezing a browser's pages for real: SIGSTOP to every renderer process of one Chromium, SIGCONT
// to thaw them. Nothing of the page runs (scripts, timers, its workers, its WebRTC threads), so it
// reads nothing, writes nothing and closes nothing, while the browser process keeps its sockets
// open, as for a tab the system froze or a laptop lid that closed. (CDP's Page.setWebLifecycleState
// "frozen" had no effect in headless Chromium 156 when tried: it answered without an error, the
// page stayed "visible", also with its window minimized, and its timers and sockets kept going; a
// hidden page may be needed for it, and headless pages are not hidden.) The browser is found by a
// marker switch on its command line (launch it with markerArg(marker)), its renderers as its
// descendants with --type=renderer.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

export function newMarker(): string {
  return randomBytes(6).toString("hex");
}

/** A switch Chromium ignores, there to find the browser process by. */
export function markerArg(marker: string): string {
  return `--hush-chaos-browser=${marker}`;
}

interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

function processes(): Proc[] {
  const found: Proc[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name is in parentheses and may hold spaces; the parent pid follows the state.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      found.push({ pid: Number(entry), ppid, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Renderer processes of the browser launched with markerArg(marker). */
export function rendererPids(marker: string): number[] {
  const all = processes();
  const roots = all.filter(
    (p) => p.cmdline.includes(markerArg(marker)) && !p.cmdline.includes("--type="),
  );
  if (roots.length !== 1)
    throw new Error(`${roots.length} browser processes with marker ${marker}`);
  const inTree = new Set([roots[0]?.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!inTree.has(p.pid) && inTree.has(p.ppid)) {
        inTree.add(p.pid);
        grew = true;
      }
    }
  }
  return all
    .filter((p) => inTree.has(p.pid) && p.cmdline.includes("--type=renderer"))
    .map((p) => p.pid);
}

/** SIGSTOP to every renderer of that browser; returns the pids to thaw. */
export function freezeRenderers(marker: string): number[] {
  const pids = rendererPids(marker);
  if (pids.length === 0) throw new Error(`no renderer process for marker ${marker}`);
  for (const pid of pids) process.kill(pid, "SIGSTOP");
  return pids;
}

export function thawRenderers(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // gone
    }
  }
}
