// The relay's share of a rotation, measured beside the signalling samples: a room of bare clients
// (raw-client.ts, no crypto, so almost nothing queues in front of their receipts) on the same Worker,
// probed between the signalling events while the fleet is quiet. One hop: a unicast from one client
// to another; fan-out: a broadcast of a commit's size until the last of the n-1 others has it.
import { randomBytes } from "node:crypto";
import { joinRaw, type RawClient, randomId } from "./raw-client";

/** A commit broadcast's bytes: the 30-byte body and its 64-byte Ed25519 signature. */
const COMMIT_BYTES = 94;

export interface RelaySample {
  oneHopMs: number;
  fanOutMs: number;
}

export class RelayProbe {
  private waiting: { payload: string; left: number; done: () => void } | undefined;

  private constructor(
    private readonly sender: RawClient,
    private readonly receivers: RawClient[],
  ) {}

  /** A room of `receivers` + 1 bare clients. */
  static async open(wsUrl: (roomId: string) => string, receivers: number): Promise<RelayProbe> {
    const url = wsUrl(randomId());
    let probe: RelayProbe | undefined;
    const received = (payload: string) => probe?.received(payload);
    const sender = await joinRaw(url, () => {});
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < receivers; i++) {
        clients.push(
          await joinRaw(url, (message) => {
            if (message.type === "message" || message.type === "broadcast") {
              received(message.payload);
            }
          }),
        );
      }
    } catch (error) {
      sender.close();
      for (const client of clients) client.close();
      throw error;
    }
    probe = new RelayProbe(sender, clients);
    return probe;
  }

  private received(payload: string): void {
    const waiting = this.waiting;
    if (!waiting || waiting.payload !== payload) return;
    waiting.left -= 1;
    if (waiting.left === 0) waiting.done();
  }

  /** Resolves with the ms until `count` receivers got `payload`, once `send` has sent it. */
  private timed(count: number, send: (payload: string) => void, timeoutMs = 10_000) {
    const payload = randomBytes(COMMIT_BYTES).toString("base64url");
    return new Promise<number>((resolve, reject) => {
      const start = performance.now();
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`the relay probe got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        payload,
        left: count,
        done: () => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(performance.now() - start);
        },
      };
      send(payload);
    });
  }

  async sample(): Promise<RelaySample> {
    const first = this.receivers[0];
    if (!first) throw new Error("the relay probe has no receiver");
    const oneHopMs = await this.timed(1, (payload) =>
      this.sender.send({ type: "send", messages: [{ to: first.participantId, payload }] }),
    );
    const fanOutMs = await this.timed(this.receivers.length, (payload) =>
      this.sender.send({ type: "broadcast", payload }),
    );
    return { oneHopMs, fanOutMs };
  }

  close(): void {
    this.sender.close();
    for (const client of this.receivers) client.close();
  }
}
