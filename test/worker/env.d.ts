// Types `env` and `exports` from "cloudflare:workers" as the Worker's own bindings and module.
import type { Env as WorkerEnv } from "../../worker/src/config";
import type * as WorkerModule from "../../worker/src/index";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
    interface GlobalProps {
      mainModule: typeof WorkerModule;
      durableNamespaces: "Room";
    }
  }
}
