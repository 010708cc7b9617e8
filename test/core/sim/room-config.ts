// The room settings the simulator runs the Worker's rules with (test/support/room-shell.ts).
import { type RoomConfig, readRoomConfig } from "../../../worker/src/room-config.js";

const MiB = 1024 * 1024;

/**
 * The Worker's settings with limits no simulated call comes near: the simulator is about keys, and
 * a client refused for its rate would be a finding about the settings, not the schedule. The join
 * deadline and heartbeat timeout keep the Worker's defaults, so a stalled join is closed by the
 * room as it would be in production.
 */
function simRoomConfig(): RoomConfig {
  const parsed = readRoomConfig({
    ROOM_CAPACITY: 10_000,
    RATE_LIMIT_PER_SECOND: 1_000_000,
    RATE_LIMIT_BURST: 1_000_000,
    RATE_LIMIT_STRIKES: 1_000_000,
    RATE_LIMIT_BYTES_PER_SECOND: 1024 * MiB,
    RATE_LIMIT_BYTES_BURST: 1024 * MiB,
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

export const SIM_ROOM_CONFIG = simRoomConfig();
