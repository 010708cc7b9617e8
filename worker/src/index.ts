// The signalling Worker's entry: the HTTP routes of docs/protocol.md. It validates the room id and
// the upgrade, then hands the WebSocket to the one Room Durable Object of that room id. Static
// assets (the web app) never reach this code: app.ts serves them, with their security headers,
// unless the path is under /v1/.
import { admitClient } from "./client-key";
import { type Env, readClientConfig, readLiveKitConfig } from "./config";
import { readRoomConfig } from "./room-config";
import { errorResponse, jsonResponse } from "./http";
import { CANONICAL_ID_PATTERN } from "../../protocol/signalling";
import { ROOM_ID_HEADER } from "./room-object";

export { Room } from "./room-object";

const ROOM_WS_ROUTE = /^\/v1\/rooms\/([^/]*)\/ws$/;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/v1/health") {
      if (request.method !== "GET" && request.method !== "HEAD")
        return errorResponse(405, "method_not_allowed", "use GET");
      return jsonResponse(200, { ok: true });
    }

    const route = ROOM_WS_ROUTE.exec(pathname);
    if (route === null) return errorResponse(404, "not_found", "no such route; see PROTOCOL.md");
    const roomId = route[1] ?? "";
    if (!CANONICAL_ID_PATTERN.test(roomId))
      return errorResponse(
        400,
        "bad_room_id",
        "the room id must be 16 bytes as 22 canonical base64url characters",
      );
    if (request.method !== "GET") return errorResponse(405, "method_not_allowed", "use GET");
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket")
      return errorResponse(
        426,
        "upgrade_required",
        "this route only speaks WebSocket (Upgrade: websocket)",
      );

    // Fail at the door rather than admit members who cannot get a LiveKit token.
    const livekit = readLiveKitConfig(env);
    if (!livekit.ok) return errorResponse(503, "livekit_not_configured", livekit.error);
    const rooms = readRoomConfig(env);
    if (!rooms.ok) return errorResponse(500, "bad_configuration", rooms.error);
    const clients = readClientConfig(env);
    if (!clients.ok) return errorResponse(500, "bad_configuration", clients.error);
    if (!(await admitClient(request, env.CLIENT_LIMITER, clients.value)))
      return errorResponse(
        429,
        "rate_limited",
        "this client opened too many sockets in a short time; wait a few seconds",
      );

    // Only the room id crosses over: no client headers, so no client address reaches the object.
    const room = env.ROOMS.get(env.ROOMS.idFromName(roomId));
    return room.fetch("https://room.internal/ws", {
      headers: { Upgrade: "websocket", [ROOM_ID_HEADER]: roomId },
    });
  },
} satisfies ExportedHandler<Env>;
