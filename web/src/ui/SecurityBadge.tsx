// The lock badge: the current media key epoch and how long ago it last rotated, updated every
// second. Without a key yet it says so instead of showing a lock; after a leave whose fresh key
// has not reached us, it says that we send nothing until a new key arrives.
import { createSignal, onCleanup, Show } from "solid-js";
import { LockIcon } from "./Icons";

function ago(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  return `${Math.floor(seconds / 60)} min ago`;
}

export function SecurityBadge(props: {
  epoch: number | undefined;
  lastRotationAt: number | undefined;
  waitingForNewKey: boolean;
}) {
  const [now, setNow] = createSignal(Date.now());
  const timer = setInterval(() => setNow(Date.now()), 1000);
  onCleanup(() => clearInterval(timer));
  return (
    <Show
      when={props.epoch !== undefined}
      fallback={
        <span class="lock warn" role="status" data-epoch="">
          {props.waitingForNewKey
            ? "Not sending: waiting for a new key"
            : "Waiting for the call key…"}
        </span>
      }
    >
      <span class="lock" role="status" data-epoch={props.epoch}>
        <LockIcon />
        End-to-end encrypted · key epoch {props.epoch}
        <Show when={props.lastRotationAt !== undefined}>
          {" "}
          · rotated {ago(now() - (props.lastRotationAt ?? now()))}
        </Show>
      </span>
    </Show>
  );
}
