// For the host and co-hosts of an ask-to-join call: who asks to join, under the name each sent
// encrypted to them, with a choice to let each one in or turn it away.
import { For, Show } from "solid-js";

export interface AskingToJoin {
  readonly participantId: string;
  readonly label: string;
}

export function AdmissionPrompt(props: {
  asking: readonly AskingToJoin[];
  onAdmit: (participantId: string) => void;
  onDecline: (participantId: string) => void;
}) {
  return (
    <Show when={props.asking.length > 0}>
      <section class="admission-prompt card stack" aria-labelledby="asking-title">
        <h2 id="asking-title">Asking to join ({props.asking.length})</h2>
        <ul class="stack">
          <For each={props.asking}>
            {(joiner) => (
              <li class="row asking" data-asking={joiner.participantId}>
                <span class="asking-name">{joiner.label}</span>
                <button
                  type="button"
                  class="btn primary"
                  aria-label={`Admit ${joiner.label}`}
                  onClick={() => props.onAdmit(joiner.participantId)}
                >
                  Admit
                </button>
                <button
                  type="button"
                  class="btn"
                  aria-label={`Decline ${joiner.label}`}
                  onClick={() => props.onDecline(joiner.participantId)}
                >
                  Decline
                </button>
              </li>
            )}
          </For>
        </ul>
      </section>
      <p class="sr-only" aria-live="polite">
        {props.asking.length === 1
          ? `${props.asking[0]?.label} asks to join`
          : `${props.asking.length} people ask to join`}
      </p>
    </Show>
  );
}
