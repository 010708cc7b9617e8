// The abuse section of `npm run bench` (issue 10): how much one hostile client can slow a room for an
// honest member. A room of 10 bare docs/protocol.md clients; one member sends a unicast to another,
// which echoes it at once, and the round trip is sampled: first quiet, then while each attack runs
// (malformed frames, an idle-socket flood, a byte flood, a member that stops reading). Figures are
// ratios to the quiet round trip; during the non-reader attack workerd's resident memory is sampled
// too. The Worker runs with its production limits, the per-client upgrade limit included: every
// client here is 127.0.0.1, so the attacker is one client (the honest members connect before any
// attack and never reconnect). An attacker refused an upgrade retries after 100 ms. Every loop is
// bounded in count and time; all traffic is on loopback.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { startWorker } from "../support/worker";
import type { AbuseResult } from "./results";
import { summarize } from "./stats";

export interface AbuseOptions {
  /** Seconds each phase samples for. */
  seconds: number;
  log: (line: string) => void;
}

const ROOM_SIZE = 10;
const PING = '{"type":"ping"}';
const PROBE_GAP_MS = 20;
const PROBE_TIMEOUT_MS = 10_000;
/** Attack traffic is paced by the client's own socket buffer, never beyond this. */
const MAX_BUFFERED = 4 * 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newId = () => randomBytes(16).toString("base64url");

interface Member {
  id: string;
  socket: WebSocket;
  closed: boolean;
}

/** Opens a socket and joins; `onMessage` sees every parsed server message after the welcome. */
function joinMember(
  url: string,
  onMessage: (message: Record<string, unknown>) => void = () => {},
): Promise<Member> {
  const id = newId();
  const socket = new WebSocket(url);
  const member: Member = { id, socket, closed: false };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error("join timed out"));
    }, 15_000);
    socket.on("open", () =>
      socket.send(JSON.stringify({ type: "join", v: 1, participantId: id, announcement: "AA" })),
    );
    socket.on("error", () => {});
    socket.on("close", () => {
      member.closed = true;
      clearTimeout(timer);
      reject(new Error("closed before welcome"));
    });
    socket.on("message", (data) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        return;
      }
      if (message.type === "welcome") {
        clearTimeout(timer);
        resolve(member);
      } else onMessage(message);
    });
  });
}

/** A stranger's socket that never joins. */
function openSocket(url: string): Promise<WebSocket | null> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.terminate();
      resolve(null);
    }, 10_000);
    socket.on("open", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.on("error", () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
}

/** Resident memory of the workerd processes in the Worker's process group, in bytes. */
function workerdRss(processGroup: number | undefined): number | null {
  if (processGroup === undefined) return null;
  try {
    const out = execFileSync("ps", ["-o", "rss=,comm=", "-g", String(processGroup)], {
      encoding: "utf8",
    });
    let kib = 0;
    for (const line of out.split("\n")) {
      const [rss, comm] = line.trim().split(/\s+/);
      if (comm?.startsWith("workerd")) kib += Number(rss) || 0;
    }
    return kib * 1024;
  } catch {
    return null;
  }
}

/** An attack runs until `stop` is set; it must bound its own loops. */
type Attack = (url: string, target: Member, stop: { done: boolean }) => Promise<void>;

/** 100,000 malformed items (195 KiB) and 200,000-deep nesting, from strangers that never join. */
const malformed: Attack = async (url, _target, stop) => {
  const items = `{"type":"send","messages":[${Array.from({ length: 100_000 }, () => "{}").join(",")}]}`;
  const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
  const attacker = async () => {
    for (let life = 0; life < 1_000 && !stop.done; life++) {
      const socket = await openSocket(url);
      if (socket === null) {
        await sleep(100);
        continue;
      }
      // 60 frames a second, inside the frame rate (200/s); reconnect when the room closes it.
      for (let i = 0; i < 100_000 && !stop.done && socket.readyState === WebSocket.OPEN; i++) {
        if (socket.bufferedAmount < MAX_BUFFERED) socket.send(i % 2 === 0 ? items : deep);
        await sleep(1000 / 60);
      }
      socket.terminate();
    }
  };
  await Promise.all([attacker(), attacker(), attacker()]);
};

/** As many never-joining sockets as the room takes (1,500 tried), each sending a junk frame. */
const idleFlood: Attack = async (url, _target, stop) => {
  const open = new Set<WebSocket>();
  let attempts = 0;
  const opener = async () => {
    while (!stop.done && attempts < 20_000) {
      if (open.size >= 1_500) {
        await sleep(50);
        continue;
      }
      attempts++;
      const socket = await openSocket(url);
      if (socket === null) {
        await sleep(100);
        continue;
      }
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.send("x");
    }
  };
  await Promise.all(Array.from({ length: 32 }, opener));
  for (const socket of open) socket.terminate();
};

/** A member broadcasting 64 KiB payloads as fast as its socket takes them; rejoins when closed. */
const byteFlood: Attack = async (url, _target, stop) => {
  const payload = randomBytes(64 * 1024).toString("base64url");
  const frame = JSON.stringify({ type: "broadcast", payload });
  for (let life = 0; life < 1_000 && !stop.done; life++) {
    const member = await joinMember(url).catch(() => null);
    if (member === null) {
      await sleep(100);
      continue;
    }
    for (let i = 0; i < 1_000 && !stop.done && !member.closed; i++) {
      while (member.socket.bufferedAmount > MAX_BUFFERED && !stop.done && !member.closed)
        await sleep(5);
      member.socket.send(frame);
      if (i % 10 === 0) await sleep(0);
    }
    member.socket.terminate();
  }
};

/**
 * A member that stops reading its TCP connection (it keeps sending heartbeats), and an accomplice
 * sending it 60 KB unicasts as fast as the room relays them; a new non-reader joins whenever the
 * room drops the last one.
 */
const nonReader: Attack = async (url, _target, stop) => {
  const payload = randomBytes(60_000).toString("base64url");
  let victim: Member | null = null;
  const sender = await joinMember(url, (message) => {
    if (message.type === "member-left" && message.participantId === victim?.id) victim = null;
  });
  const pinger = setInterval(() => {
    if (victim && !victim.closed) victim.socket.send(PING);
    sender.socket.send(PING);
  }, 5_000);
  try {
    for (let round = 0; round < 100_000 && !stop.done && !sender.closed; round++) {
      if (victim === null || victim.closed) {
        const joined: Member | null = await joinMember(url).catch(() => null);
        if (joined === null) {
          await sleep(100);
          continue;
        }
        (joined.socket as unknown as { _socket?: { pause(): void } })._socket?.pause();
        victim = joined;
      }
      while (sender.socket.bufferedAmount > MAX_BUFFERED && !stop.done) await sleep(5);
      sender.socket.send(JSON.stringify({ type: "send", messages: [{ to: victim.id, payload }] }));
      if (round % 10 === 0) await sleep(0);
    }
  } finally {
    clearInterval(pinger);
    sender.socket.terminate();
    (victim as Member | null)?.socket.terminate();
  }
};

export async function runAbuseBench(opts: AbuseOptions): Promise<AbuseResult> {
  opts.log("abuse: starting a Worker with production limits…");
  const worker = await startWorker({ snapshot: true, vars: { CLIENT_CONNECT_LIMIT: "on" } });
  const members: Member[] = [];
  try {
    const url = worker.wsUrl(newId());
    const waiting = new Map<string, (at: number) => void>();
    const prober = await joinMember(url, (message) => {
      if (message.type === "message" && typeof message.payload === "string")
        waiting.get(message.payload)?.(performance.now());
    });
    const echoer = await joinMember(url, (message) => {
      if (message.type === "message" && message.from === prober.id)
        echoer.socket.send(
          JSON.stringify({ type: "send", messages: [{ to: prober.id, payload: message.payload }] }),
        );
    });
    members.push(prober, echoer);
    while (members.length < ROOM_SIZE) members.push(await joinMember(url));
    const pinger = setInterval(() => {
      for (const member of members) if (!member.closed) member.socket.send(PING);
    }, 10_000);

    let serial = 0;
    const roundTrip = (): Promise<number | null> => {
      const payload = Buffer.from(`probe-${serial++}`).toString("base64url");
      const started = performance.now();
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(payload);
          resolve(null);
        }, PROBE_TIMEOUT_MS);
        waiting.set(payload, (at) => {
          clearTimeout(timer);
          waiting.delete(payload);
          resolve(at - started);
        });
        prober.socket.send(
          JSON.stringify({ type: "send", messages: [{ to: echoer.id, payload }] }),
        );
      });
    };
    const sample = async (seconds: number) => {
      const samples: number[] = [];
      let lost = 0;
      const until = performance.now() + seconds * 1000;
      for (let i = 0; i < 100_000 && performance.now() < until; i++) {
        if (prober.closed || echoer.closed) throw new Error("an honest member was disconnected");
        const ms = await roundTrip();
        // A round trip that never completed counts as the timeout: a lower bound, never dropped.
        if (ms === null) lost++;
        samples.push(ms ?? PROBE_TIMEOUT_MS);
        await sleep(PROBE_GAP_MS);
      }
      return { ...summarize(samples), lost };
    };

    try {
      await sample(1);
      const quiet = await sample(opts.seconds);
      opts.log(`  quiet: p50 ${quiet.p50.toFixed(1)} ms, p95 ${quiet.p95.toFixed(1)} ms`);
      const attacks: AbuseResult["attacks"] = [];
      const plan: [AbuseResult["attacks"][number]["attack"], Attack][] = [
        ["malformed frames", malformed],
        ["idle-socket flood", idleFlood],
        ["byte flood", byteFlood],
        ["non-reader", nonReader],
      ];
      for (const [name, attack] of plan) {
        const stop = { done: false };
        const rssBefore = workerdRss(worker.processGroup);
        let rssMax = rssBefore ?? 0;
        const meter = setInterval(() => {
          rssMax = Math.max(rssMax, workerdRss(worker.processGroup) ?? 0);
        }, 250);
        const running = attack(url, echoer, stop).catch((error: Error) =>
          opts.log(`  ${name}: the attack itself failed: ${error.message}`),
        );
        // Let the attack build up before sampling.
        await sleep(1_000);
        const during = await sample(opts.seconds).finally(() => {
          stop.done = true;
        });
        await running;
        clearInterval(meter);
        const memoryGrowthBytes =
          name === "non-reader" && rssBefore !== null ? Math.max(0, rssMax - rssBefore) : null;
        attacks.push({
          attack: name,
          p50Ms: during.p50,
          p95Ms: during.p95,
          p50Ratio: during.p50 / quiet.p50,
          p95Ratio: during.p95 / quiet.p95,
          samples: during.samples,
          lost: during.lost,
          memoryGrowthBytes,
        });
        opts.log(
          `  ${name}: p50 ${during.p50.toFixed(1)} ms (${(during.p50 / quiet.p50).toFixed(2)}×), p95 ${during.p95.toFixed(1)} ms (${(during.p95 / quiet.p95).toFixed(2)}×)${memoryGrowthBytes === null ? "" : `, workerd memory +${(memoryGrowthBytes / 1024 / 1024).toFixed(1)} MB`}`,
        );
        // Let the room settle (closed sockets, drained buffers) before the next phase.
        await sleep(2_000);
      }
      return {
        roomSize: ROOM_SIZE,
        secondsPerPhase: opts.seconds,
        quiet: { p50Ms: quiet.p50, p95Ms: quiet.p95, samples: quiet.samples },
        attacks,
      };
    } finally {
      clearInterval(pinger);
    }
  } finally {
    for (const member of members) member.socket.terminate();
    await worker.stop();
  }
}
