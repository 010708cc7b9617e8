// Relay throughput of one room: several members send single-payload unicast frames to each other as
// fast as the room delivers them (a bounded window of payloads in flight per sender), and we count
// payloads delivered per second. One payload per frame is the worst case for the room; a rekey
// batches n-2 payloads into one frame.
import { randomBytes } from "node:crypto";
import { joinRaw, type RawClient, randomId } from "./raw-client";
import type { RelayResult } from "./results";

export interface RelayOptions {
  wsUrl: (roomId: string) => string;
  participants: number;
  seconds: number;
  payloadBytes?: number;
  window?: number;
}

export async function runRelayBench(opts: RelayOptions): Promise<RelayResult> {
  const payloadBytes = opts.payloadBytes ?? 256;
  const window = opts.window ?? 64;
  const url = opts.wsUrl(randomId());
  const inFlight = new Map<string, number>();
  let delivered = 0;
  let measuring = false;
  const clients: RawClient[] = [];
  const pump = new Map<string, () => void>();
  try {
    for (let i = 0; i < opts.participants; i++) {
      const client = await joinRaw(url, (message) => {
        if (message.type !== "message") return;
        if (measuring) delivered++;
        const sender = message.from;
        inFlight.set(sender, (inFlight.get(sender) ?? 1) - 1);
        pump.get(sender)?.();
      });
      clients.push(client);
      inFlight.set(client.participantId, 0);
    }
    const payload = randomBytes(payloadBytes).toString("base64url");
    let running = true;
    for (const [index, client] of clients.entries()) {
      const peers = clients.filter((c) => c !== client);
      let next = index;
      pump.set(client.participantId, () => {
        while (running && (inFlight.get(client.participantId) ?? 0) < window) {
          const to = peers[next++ % peers.length]?.participantId;
          if (!to) return;
          inFlight.set(client.participantId, (inFlight.get(client.participantId) ?? 0) + 1);
          client.send({ type: "send", messages: [{ to, payload }] });
        }
      });
    }
    for (const start of pump.values()) start();
    // Warm up for a second so the measured interval sees the steady state.
    await sleep(1_000);
    delivered = 0;
    measuring = true;
    const started = performance.now();
    await sleep(opts.seconds * 1_000);
    measuring = false;
    const seconds = (performance.now() - started) / 1_000;
    running = false;
    return {
      participants: opts.participants,
      senders: opts.participants,
      payloadBytes,
      delivered,
      seconds,
      payloadsPerSecond: Math.round(delivered / seconds),
    };
  } finally {
    for (const client of clients) client.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
