// The deployed Worker (worker/wrangler.jsonc `main`): the signalling API of index.ts under /v1/, and
// the web app from the static assets everywhere else, served with the security headers of
// security-headers.ts. Assets go through the Worker (`run_worker_first: true`) because their
// Content-Security-Policy names the configured SFU, which a static `_headers` file could not know.
import type { Env } from "./config";
import api from "./index";
import { type AssetFetcher, serveApp } from "./security-headers";

export { Room } from "./room-object";

export default {
  async fetch(request, env): Promise<Response> {
    if (!new URL(request.url).pathname.startsWith("/v1/")) {
      const app = await serveApp(request, env);
      if (app !== undefined) return app;
    }
    return api.fetch(request, env);
  },
} satisfies ExportedHandler<Env & { ASSETS?: AssetFetcher }>;
