// Who is in the call: the verified roster (names come from sealed announcements, or in an
// ask-to-join call from the members' own messages under the call's keys) and, in red, any
// participant the servers show that never proved it holds the call secret. In an ask-to-join call
// the host and co-hosts are marked, and they can take someone out (the host also names co-hosts).
import { For, Show } from "solid-js";
import type { AdmissionRole, RosterEntry } from "../core";

export interface Moderation {
  readonly role: AdmissionRole;
  readonly hosts: readonly string[];
  readonly cohosts: readonly string[];
  readonly onRemove: (participantId: string) => void;
  readonly onAppoint: (participantId: string) => void;
}

export function ParticipantList(props: {
  roster: RosterEntry[];
  intruders: string[];
  conflicts: string[];
  hands: readonly string[];
  moderation?: Moderation | undefined;
}) {
  const standing = (entry: RosterEntry) => {
    const m = props.moderation;
    if (m?.hosts.includes(entry.participantId)) return "host";
    return m?.cohosts.includes(entry.participantId) ? "co-host" : undefined;
  };
  // The host may take out anyone else; a co-host anyone who is neither host nor co-host.
  const canRemove = (entry: RosterEntry) => {
    const m = props.moderation;
    if (!m || entry.self || m.role === "member" || m.hosts.includes(entry.participantId))
      return false;
    return m.role === "host" || !m.cohosts.includes(entry.participantId);
  };
  const canAppoint = (entry: RosterEntry) =>
    props.moderation?.role === "host" && !entry.self && standing(entry) === undefined;
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
                  : [standing(entry), entry.leader ? "key leader" : "verified"]
                      .filter(Boolean)
                      .join(" · ")}
              </span>
              <Show when={canAppoint(entry)}>
                <button
                  type="button"
                  class="btn small"
                  aria-label={`Make ${entry.displayName} a co-host`}
                  onClick={() => props.moderation?.onAppoint(entry.participantId)}
                >
                  Make co-host
                </button>
              </Show>
              <Show when={canRemove(entry)}>
                <button
                  type="button"
                  class="btn small danger"
                  aria-label={`Remove ${entry.displayName}`}
                  onClick={() => props.moderation?.onRemove(entry.participantId)}
                >
                  Remove
                </button>
              </Show>
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
