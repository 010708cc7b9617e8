// The call security code (docs/key-schedule.md, Security code) and how to use it.
import { Show } from "solid-js";

export function SecurityCode(props: { code: string | undefined }) {
  return (
    <section class="stack" aria-labelledby="security-code">
      <h2 id="security-code">Security code</h2>
      <Show when={props.code} fallback={<p class="muted">Computed once the roster is verified…</p>}>
        <p class="code" data-security-code="">
          {props.code}
        </p>
      </Show>
      <p class="muted">
        Everyone in the call sees the same code when no server has swapped anyone's keys. Read it
        out loud to each other (or compare it in person); if someone's code differs, leave the call
        and start a new one.
      </p>
    </section>
  );
}
