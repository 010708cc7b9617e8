// `npm run sfu`: the local SFU in the foreground with sfu-config/livekit.yaml, its own log on the
// terminal. Checks the ports first and exits non-zero when the server cannot start (livekit-server
// itself prints a startup error and exits with status 0).
import { spawn } from "node:child_process";
import {
  ensureLiveKitInstalled,
  localSfuKeys,
  REPO_ROOT,
  readSfuPorts,
  sfuCommand,
  sfuEnvironment,
} from "./local-sfu";
import { busyPorts } from "./port-check";

async function main(): Promise<number> {
  if (!ensureLiveKitInstalled()) return 1;
  const ports = readSfuPorts();
  const busy = await busyPorts([
    { what: "SFU signalling", port: ports.signal, protocol: "tcp", host: "127.0.0.1" },
    // livekit-server binds its ICE/TCP port on all interfaces, whatever bind_addresses says.
    { what: "SFU ICE/TCP", port: ports.rtcTcp, protocol: "tcp" },
    { what: "SFU ICE/UDP", port: ports.rtcUdp, protocol: "udp", host: "127.0.0.1" },
  ]);
  if (busy.length > 0) {
    for (const message of busy) console.error(`error: ${message}`);
    return 1;
  }

  const keys = localSfuKeys();
  const { command, args } = sfuCommand();
  console.log(`SFU: ws://127.0.0.1:${ports.signal} (API key ${keys.apiKey}); Ctrl-C stops it`);
  const startedAt = Date.now();
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: sfuEnvironment(keys),
    stdio: "inherit",
  });
  // Pass SIGINT/SIGTERM on (a signal may be sent to us alone, e.g. by npm or a process manager);
  // livekit-server shuts down on the first one.
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      stopping = true;
      child.kill(signal);
    });
  }
  return new Promise((resolve) => {
    child.once("error", (error) => {
      console.error(`error: could not run ${command}: ${error.message}`);
      resolve(1);
    });
    child.once("exit", (code, signal) => {
      if (signal || stopping) return resolve(code ?? 0);
      // An exit within seconds of starting is a startup failure, even with status 0.
      if (Date.now() - startedAt < 5000) {
        console.error("error: livekit-server exited during startup (see its message above)");
        return resolve(code || 1);
      }
      resolve(code ?? 0);
    });
  });
}

process.exitCode = await main();
