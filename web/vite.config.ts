// Builds the SolidJS app into web/dist, which the Worker serves as static assets on the same
// origin as the signalling API. In development, vite serves the app and proxies /v1 (HTTP and the
// signalling WebSocket) to a local `npm run dev:worker` on 127.0.0.1:8787.
import { defineConfig } from "vite";
import solid from "vite-plugin-solid";

const root = decodeURIComponent(new URL(".", import.meta.url).pathname);

export default defineConfig({
  root,
  plugins: [solid()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // No source maps in the shipped bundle: nothing to gain for users, and less to serve.
    sourcemap: false,
    // livekit-client alone is ~500 kB minified; one chunk is fine for a single-page app.
    chunkSizeWarningLimit: 900,
  },
  worker: { format: "es" },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/v1": { target: "http://127.0.0.1:8787", ws: true, changeOrigin: false },
    },
  },
});
