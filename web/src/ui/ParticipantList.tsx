// Who is in the call: the verified roster (names come from sealed announcements) and, in red, any
// participant the servers show that never proved it holds the call secret.
import { For, Show } from "solid-js";
import type { RosterEntry } from "../core";

export function ParticipantList(props: {
  roster: RosterEntry[];
  intruders: string[];
  conflicts: string[];
  hands: readonly string[];
}) {
  return (
    <section class="stack" aria-labelledby="people">
      <h2 id="people">People ({props.roster.length})</h2>
      <ul class="people">
        <For each={props.roster}>
          {(entry) => (
            <li data-participant={entry.participantId}>
              <span>
                {entry.displayName}
                {entry.self ? " (you)" : ""}
                <Show when={props.hands.includes(entry.participantId)}>
                  <span class="hand" role="img" aria-label="hand raised" data-hand="">
                    {" "}
                    ✋
                  </span>
                </Show>
              </span>
              <span class="muted">
                {props.conflicts.includes(entry.participantId)
                  ? "shown twice by the server"
                  : entry.leader
                    ? "key leader"
                    : "verified"}
              </span>
            </li>
          )}
        </For>
      </ul>
      <Show when={props.conflicts.length > 0}>
        <div class="notice danger" role="alert">
          <strong>The server showed the same participant twice at once.</strong> Only the newer one
          is in the call; compare the security code out loud to be sure nobody was swapped.
        </div>
      </Show>
      <Show when={props.intruders.length > 0}>
        <div class="notice danger" role="alert">
          <strong>
            {props.intruders.length} unverified participant{props.intruders.length > 1 ? "s" : ""}
          </strong>{" "}
          present. The server shows {props.intruders.length > 1 ? "them" : "it"} in the call, but{" "}
          {props.intruders.length > 1 ? "they have" : "it has"} no keys and cannot see or hear you.
        </div>
      </Show>
    </section>
  );
}
