// A faster heartbeat for the chaos cases that need the Room's liveness timeout below the length of
// an outage. The client core pings every 15 s (signalling-client.ts) against the Room's default 45
// s timeout; a test Worker with HEARTBEAT_TIMEOUT_SECONDS=5 would drop every healthy member between
// two pings. This init script keeps the production ratio (a ping every third of the timeout) by
// sending the same ping text (HEARTBEAT.ping, answered by the runtime) on every open signalling
// socket every `intervalMs`, from the page's own timers: a frozen page sends none, an offline one's
// never arrive. Nothing else about the socket changes.
import type { BrowserContext } from "playwright-core";
import { HEARTBEAT } from "../../protocol/signalling";

export async function fasterHeartbeat(context: BrowserContext, intervalMs: number): Promise<void> {
  await context.addInitScript(
    ({ intervalMs, ping }) => {
      const Native = window.WebSocket;
      class PingingWebSocket extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          if (!new URL(String(url), location.href).pathname.startsWith("/v1/rooms/")) return;
          const timer = setInterval(() => {
            if (this.readyState === Native.OPEN) this.send(ping);
            else if (this.readyState > Native.OPEN) clearInterval(timer);
          }, intervalMs);
        }
      }
      window.WebSocket = PingingWebSocket;
    },
    { intervalMs, ping: HEARTBEAT.ping },
  );
}
