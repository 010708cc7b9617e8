// The signalling bench's call spread over several fleet hosts (issue 12): child processes that each
// run some of the clients (fleet-host.ts), so that N clients no longer run every signature check
// and Diffie-Hellman in series on one thread. The key leader, the first member, runs alone in the
// first host; the call's other members are spread over the rest, each joiner to the host with the
// fewest members. The joiners of the join samples run in a host of their own (the last one, which
// holds nobody else): a joining device does not also run a third of the call's other members, whose
// work for that same join (announcement, hello, ratchet) would otherwise queue in front of its own.
//
// Child processes rather than worker threads: process.cpuUsage counts every thread of a process,
// and Node 20 has no per-thread CPU clock, so in a worker thread a client's handler CPU would take
// in whatever the other threads ran meanwhile. A child process has its own CPU clock, heap and
// garbage collector: the leader's figure is its own work and its own GC, nobody else's.
//
// This process keeps the orchestration and the measurements. It mirrors what each host reports of
// its clients (fleet-protocol.ts) and shifts the hosts' times onto its own performance.now() by the
// difference of the processes' offsets to the one monotonic clock, so times from any two hosts
// compare; counts, curve operations and CPU readings are asked for between the events.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { CurveOps } from "../../web/src/core/index";
import { generateCallSecret, systemRandom } from "../../web/src/core/index";
import {
  type CommitRecord,
  type Counts,
  dropsOf,
  leaderOf,
  type MemberRecord,
  type RotationRecord,
} from "./fleet";
import {
  type HostMessage,
  type HostReplies,
  type HostRequest,
  type LoopDelay,
  type MainMessage,
  type MemberState,
  monotonicOffsetMs,
  ROOM_PLACEHOLDER,
} from "./fleet-protocol";
import { onTeardown } from "./teardown";

/** The main process's view of one client: times in this process's performance.now(). */
export interface HostedMember extends MemberRecord {
  /** Index of the host process that runs it (0: the leader's). */
  readonly host: number;
  startedAt: number;
  /** Truncated SHA-256 of the key it sends with, null without one (key bytes stay in their host). */
  keyHash: string | null;
}

/** What a host runs: the key leader, the call's other members, or the measured joiners. */
export type HostRole = "leader" | "members" | "joiners";

export interface HostLoopDelay extends LoopDelay {
  role: HostRole;
}

const HOST_FILE = fileURLToPath(new URL("./fleet-host.ts", import.meta.url));
/** A host compiles the client core with tsx when it starts: seconds on a loaded machine. */
const HOST_START_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 15_000;

class Host {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  /** Why the process is gone, once it is. */
  gone: string | undefined;

  constructor(
    readonly index: number,
    readonly role: HostRole,
    private readonly child: ChildProcess,
    /** Added to this host's times to put them on the main process's clock. */
    readonly shiftMs: number,
  ) {}

  request<T extends HostRequest>(
    request: T,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<HostReplies[T["type"]]> {
    if (this.gone)
      return Promise.reject(new Error(`fleet host ${this.index} is gone: ${this.gone}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new Error(`fleet host ${this.index} did not answer ${request.type} in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as HostReplies[T["type"]]);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      const message: MainMessage = { type: "request", id, request };
      this.child.send(message);
    });
  }

  replied(message: Extract<HostMessage, { type: "reply" }>): void {
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if ("error" in message) waiting.reject(new Error(message.error));
    else waiting.resolve(message.value);
  }

  exited(reason: string): void {
    this.gone = reason;
    for (const waiting of this.pending.values()) {
      waiting.reject(new Error(`fleet host ${this.index} exited: ${reason}`));
    }
    this.pending.clear();
  }
}

export class HostedFleet {
  private readonly byName = new Map<string, HostedMember>();
  readonly rotations: RotationRecord[] = [];
  readonly commits: CommitRecord[] = [];
  private hosts: Host[] = [];
  /** Every process started, ready or not, so that a failed start stops them all too. */
  private readonly children: ChildProcess[] = [];
  private stop: () => Promise<void> = async () => {};

  private constructor() {}

  /**
   * Starts `hosts` processes (at least 1) for one call on the Worker at `wsUrl`, and with more than
   * one a process more for the measured joiners (join({ measured: true })).
   */
  static async start(wsUrl: (roomId: string) => string, hosts: number): Promise<HostedFleet> {
    if (!Number.isInteger(hosts) || hosts < 1) throw new Error("a fleet needs at least one host");
    const roles: HostRole[] = Array.from({ length: hosts }, (_, index) =>
      index === 0 && hosts > 1 ? "leader" : "members",
    );
    if (hosts > 1) roles.push("joiners");
    const fleet = new HostedFleet();
    fleet.stop = onTeardown("signalling fleet hosts", () => fleet.stopHosts());
    const secret = Buffer.from(generateCallSecret(systemRandom)).toString("base64");
    const urlTemplate = wsUrl(ROOM_PLACEHOLDER);
    const mainOffset = monotonicOffsetMs();
    try {
      fleet.hosts = await Promise.all(
        roles.map((role, index) =>
          fleet.startHost(
            index,
            role,
            {
              type: "init",
              secret,
              urlTemplate,
              namePrefix: `bench-h${index}-`,
              // One process alone keeps the old way: every client metered throughout.
              meterEveryClient: role === "leader" || roles.length === 1,
            },
            mainOffset,
          ),
        ),
      );
    } catch (error) {
      await fleet.close();
      throw error;
    }
    return fleet;
  }

  private startHost(
    index: number,
    role: HostRole,
    init: MainMessage,
    mainOffset: number,
  ): Promise<Host> {
    // The parent's execArgv (tsx's loader) is inherited, so the host runs from its .ts source.
    const child = fork(HOST_FILE, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.children.push(child);
    return new Promise<Host>((resolve, reject) => {
      let host: Host | undefined;
      const timer = setTimeout(() => {
        reject(new Error(`fleet host ${index} not ready within ${HOST_START_TIMEOUT_MS} ms`));
      }, HOST_START_TIMEOUT_MS);
      child.on("message", (message: HostMessage) => {
        if (message.type === "ready") {
          clearTimeout(timer);
          host = new Host(index, role, child, message.monotonicOffsetMs - mainOffset);
          resolve(host);
        } else if (host && message.type === "reply") host.replied(message);
        else if (host && message.type === "state") this.apply(host, message);
      });
      // A send to a process that just died: its exit follows, which fails what waits on it.
      child.on("error", (error) => {
        if (!host) reject(error);
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        const reason = signal ? `signal ${signal}` : `code ${code}`;
        if (host) host.exited(reason);
        else reject(new Error(`fleet host ${index} exited before it was ready (${reason})`));
      });
      child.send(init);
    });
  }

  private apply(host: Host, message: Extract<HostMessage, { type: "state" }>): void {
    const shift = (at: number) => at + host.shiftMs;
    for (const state of message.members) this.mirror(host, state, shift);
    for (const r of message.rotations) this.rotations.push({ ...r, at: shift(r.at) });
    for (const c of message.commits) this.commits.push({ ...c, at: shift(c.at) });
  }

  private mirror(host: Host, state: MemberState, shift: (at: number) => number): void {
    let member = this.byName.get(state.name);
    if (!member) {
      member = {
        name: state.name,
        host: host.index,
        startedAt: 0,
        seq: undefined,
        firstKeyAt: undefined,
        switchedAt: new Map(),
        switchedCpuMs: new Map(),
        stoppedAt: [],
        sendingEpoch: 0,
        firstEpoch: undefined,
        connected: false,
        drops: [],
        left: false,
        keyHash: null,
      };
      this.byName.set(state.name, member);
    }
    member.startedAt = shift(state.startedAt);
    member.seq = state.seq;
    member.firstKeyAt = state.firstKeyAt === undefined ? undefined : shift(state.firstKeyAt);
    for (const [epoch, at, cpuMs] of state.newSwitches) {
      member.switchedAt.set(epoch, shift(at));
      member.switchedCpuMs.set(epoch, cpuMs);
    }
    for (const at of state.newStops) member.stoppedAt.push(shift(at));
    member.sendingEpoch = state.sendingEpoch;
    member.firstEpoch = state.firstEpoch;
    member.connected = state.connected;
    member.drops.push(...state.newDrops);
    // A leave this process asked for stands even if an older state crosses it.
    member.left ||= state.left;
    member.keyHash = state.keyHash;
  }

  /** Host processes running clients (the joiners' one included). */
  get hostCount(): number {
    return this.hosts.length;
  }

  /** Current members (joined, not left), in the order their hosts first reported them. */
  members(): HostedMember[] {
    return [...this.byName.values()].filter((m) => !m.left);
  }

  /**
   * The leader's host for the first member; a measured joiner to the joiners' host; any other to
   * the member host with the fewest members.
   */
  private hostForJoin(measured: boolean): Host {
    const [first] = this.hosts;
    if (!first) throw new Error("the fleet has no host");
    const joiners = this.hosts.find((h) => h.role === "joiners");
    if (measured && joiners) return joiners;
    const rest = this.hosts.filter((h) => h.role === "members");
    if (this.byName.size === 0 || rest.length === 0) return first;
    const load = (h: Host) => this.members().filter((m) => m.host === h.index).length;
    return rest.reduce((best, h) => (load(h) < load(best) ? h : best));
  }

  /**
   * Creates a client and resolves once the room admitted it (its key may still be on the way);
   * `measured`: a join sample's joiner, run in the joiners' host.
   */
  async join({ timeoutMs = 30_000, measured = false } = {}): Promise<HostedMember> {
    const host = this.hostForJoin(measured);
    const reply = await host.request({ type: "join", timeoutMs }, timeoutMs + REQUEST_TIMEOUT_MS);
    const member = this.byName.get(reply.name);
    if (!member) throw new Error(`fleet host ${host.index} reported no state of ${reply.name}`);
    member.seq = reply.seq;
    return member;
  }

  /** Leaves at once (gone from members()); resolves with when the client's host made it leave. */
  async leave(member: HostedMember): Promise<number> {
    member.left = true;
    const reply = await this.hostOf(member).request({ type: "leave", name: member.name });
    return reply.at + this.hostOf(member).shiftMs;
  }

  private hostOf(member: HostedMember): Host {
    const host = this.hosts[member.host];
    if (!host) throw new Error(`no fleet host ${member.host}`);
    return host;
  }

  /** The current member with the lowest join seq: the key leader. */
  leader(): HostedMember | undefined {
    return leaderOf(this.members());
  }

  drops(): Record<string, number> {
    return dropsOf(this.byName.values());
  }

  /** Every current member connected, on one epoch, with one key (compared by its hash). */
  converged(): { converged: boolean; epoch: number | null } {
    const members = this.members();
    const first = members[0];
    if (!first) return { converged: true, epoch: null };
    const epoch = first.sendingEpoch;
    if (epoch === 0 || first.keyHash === null) return { converged: false, epoch: null };
    const same = (m: HostedMember) =>
      m.connected && m.sendingEpoch === epoch && m.keyHash === first.keyHash;
    return { converged: members.every(same), epoch };
  }

  /** Envelopes and broadcasts sent by every client the hosts ever ran. */
  async counts(): Promise<Counts> {
    const all = await Promise.all(this.hosts.map((h) => h.request({ type: "counts" })));
    const sum = { ...(all[0] as Counts) };
    for (const counts of all.slice(1)) {
      for (const kind of Object.keys(sum) as (keyof Counts)[]) sum[kind] += counts[kind];
    }
    return sum;
  }

  /** Curve operations of every client the hosts ever ran. */
  async curveOps(): Promise<CurveOps> {
    const all = await Promise.all(this.hosts.map((h) => h.request({ type: "curve-ops" })));
    const sum = { ...(all[0] as CurveOps) };
    for (const ops of all.slice(1)) {
      for (const field of Object.keys(sum) as (keyof CurveOps)[]) sum[field] += ops[field];
    }
    return sum;
  }

  /** One member's handler CPU so far (ms) and its curve operations. */
  sample(member: HostedMember): Promise<HostReplies["sample"]> {
    return this.hostOf(member).request({ type: "sample", name: member.name });
  }

  /** Starts, or stops and reads, every host's event-loop delay histogram. */
  loopDelay(action: "start" | "stop"): Promise<HostLoopDelay[]> {
    return Promise.all(
      this.hosts.map(async (h) => ({
        role: h.role,
        ...(await h.request({ type: "loop-delay", action })),
      })),
    );
  }

  /** Every client leaves, then the hosts stop. */
  async close(): Promise<void> {
    await this.stop();
  }

  private async stopHosts(): Promise<void> {
    await Promise.allSettled(this.hosts.map((h) => h.request({ type: "close" }, 5_000)));
    // Let the leaves reach the Worker before the sockets die with their process.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Promise.all(this.children.map(stopChild));
  }
}

/** Ends a host: it exits once its IPC channel closes; killed if it has not within 5 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.disconnect();
    else child.kill("SIGTERM");
  });
}
