// Reads what livekit-server keeps in a test Redis, for the failover test to see where LiveKit routes
// a room: "nodes" (node id -> node record) and "room_node_map" (room name -> node id), the two hashes
// of livekit-server 1.13.5's RedisRouter. One command per connection, answers of bulk strings only.
import { createConnection } from "node:net";

/** Sends one command and resolves its answer: a string, null, or an array of those. */
function command(host: string, port: number, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const parts = [`*${args.length}\r\n`];
    for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
    let data = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(2000, () => fail(new Error(`redis ${args[0]}: no answer`)));
    socket.once("error", fail);
    socket.once("connect", () => socket.write(parts.join("")));
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const parsed = parse(data, 0);
      if (parsed === undefined) return;
      socket.destroy();
      if (parsed.value instanceof Error) reject(parsed.value);
      else resolve(parsed.value);
    });
  });
}

/** Parses one RESP value at `at`; undefined while more bytes are needed. */
function parse(data: Buffer, at: number): { value: unknown; next: number } | undefined {
  const eol = data.indexOf("\r\n", at);
  if (eol < 0) return undefined;
  const head = data.toString("latin1", at, eol);
  const rest = head.slice(1);
  switch (head[0]) {
    case "+":
      return { value: rest, next: eol + 2 };
    case "-":
      return { value: new Error(rest), next: eol + 2 };
    case ":":
      return { value: rest, next: eol + 2 };
    case "$": {
      const length = Number(rest);
      if (length < 0) return { value: null, next: eol + 2 };
      const end = eol + 2 + length;
      if (data.length < end + 2) return undefined;
      return { value: data.toString("utf8", eol + 2, end), next: end + 2 };
    }
    case "*": {
      const count = Number(rest);
      const items: unknown[] = [];
      let next = eol + 2;
      for (let i = 0; i < count; i++) {
        const item = parse(data, next);
        if (item === undefined) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      return { value: new Error(`unexpected redis answer ${head}`), next: eol + 2 };
  }
}

/** The ids of the nodes registered in the cluster (dead ones stay until someone removes them). */
export async function nodeIds(redis: { host: string; port: number }): Promise<string[]> {
  const keys = await command(redis.host, redis.port, ["HKEYS", "nodes"]);
  return Array.isArray(keys) ? keys.map(String) : [];
}

/** Room name -> id of the node LiveKit routes it to. */
export async function roomNodes(redis: {
  host: string;
  port: number;
}): Promise<Record<string, string>> {
  const flat = await command(redis.host, redis.port, ["HGETALL", "room_node_map"]);
  const map: Record<string, string> = {};
  if (!Array.isArray(flat)) return map;
  for (let i = 0; i + 1 < flat.length; i += 2) map[String(flat[i])] = String(flat[i + 1]);
  return map;
}
