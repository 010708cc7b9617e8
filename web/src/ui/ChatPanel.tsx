// The chat panel: the call's end-to-end encrypted log, in the order every member sees it, and a
// line to write in. Names are the senders' verified names; a line that could not be decrypted says
// so instead of vanishing. Keyboard: the input has focus when the panel opens, Enter sends, Escape
// closes the panel (and focus returns to the Chat button).
import { createEffect, createSignal, For, Match, onMount, Show, Switch } from "solid-js";
import { CHAT_TEXT_MAX, type ChatEntry } from "../core";

function timeOf(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** A relay dropped messages that the sender's counters show it sent (docs/chat.md, Receiving). */
function missedText(missed: number): string {
  if (missed > 999) return "Many messages from this person did not arrive.";
  return missed === 1
    ? "1 message from this person did not arrive."
    : `${missed} messages from this person did not arrive.`;
}

export function ChatPanel(props: {
  entries: readonly ChatEntry[];
  onSend: (text: string) => boolean;
  onSeen: () => void;
  onClose: () => void;
}) {
  let input: HTMLInputElement | undefined;
  let log: HTMLDivElement | undefined;
  const [draft, setDraft] = createSignal("");
  const [refused, setRefused] = createSignal(false);
  onMount(() => input?.focus());
  // Everything in the open panel counts as read; new lines scroll into view.
  createEffect(() => {
    props.entries.length;
    props.onSeen();
    if (log) log.scrollTop = log.scrollHeight;
  });
  const send = (event: SubmitEvent) => {
    event.preventDefault();
    if (draft().trim() === "") return;
    const sent = props.onSend(draft());
    setRefused(!sent);
    if (sent) setDraft("");
  };
  return (
    <aside
      id="chat-panel"
      class="panel chat"
      aria-labelledby="chat-title"
      onKeyDown={(event) => {
        if (event.key === "Escape") props.onClose();
      }}
    >
      <div class="chat-head">
        <h2 id="chat-title">Chat</h2>
        <button type="button" class="btn small" onClick={() => props.onClose()}>
          Close chat
        </button>
      </div>
      <p class="muted">
        End-to-end encrypted: the servers relay it but cannot read it. You see what is said after
        you joined.
      </p>
      {/* The log role on a wrapper: on the list itself it would hide the list from assistive tech. */}
      <div ref={log} class="chat-log" role="log" aria-label="Messages">
        <ol class="chat-lines">
          <For each={props.entries}>
            {(entry) => (
              <li
                data-chat-entry={entry.id}
                data-state={entry.state}
                classList={{ self: entry.self }}
              >
                <div class="chat-meta">
                  <bdi class="chat-name">{entry.self ? "You" : entry.displayName}</bdi>
                  <span class="muted">{timeOf(entry.at)}</span>
                </div>
                <Switch>
                  <Match when={entry.state === "shown"}>
                    <p class="chat-text" dir="auto">
                      {entry.text}
                    </p>
                  </Match>
                  <Match when={entry.state === "undecryptable"}>
                    <p class="chat-text undecryptable">
                      This message could not be decrypted: it was sent under a key this device no
                      longer holds.
                    </p>
                  </Match>
                  <Match when={entry.state === "missing"}>
                    <p class="chat-text undecryptable">{missedText(entry.missed ?? 0)}</p>
                  </Match>
                  <Match when={entry.state === "queued"}>
                    <p class="chat-text" dir="auto">
                      {entry.text}
                    </p>
                    <p class="muted">Waiting for a new key to send…</p>
                  </Match>
                </Switch>
              </li>
            )}
          </For>
        </ol>
      </div>
      <form class="chat-form" onSubmit={send}>
        <label class="sr-only" for="chat-input">
          Message everyone
        </label>
        <input
          id="chat-input"
          ref={input}
          type="text"
          autocomplete="off"
          maxLength={CHAT_TEXT_MAX}
          placeholder="Message everyone"
          value={draft()}
          onInput={(event) => setDraft(event.currentTarget.value)}
          aria-describedby={refused() ? "chat-refused" : undefined}
        />
        <button type="submit" class="btn primary">
          Send
        </button>
      </form>
      <Show when={refused()}>
        <p id="chat-refused" class="notice" role="alert">
          Not sent: too many messages are waiting for a key. Try again in a moment.
        </p>
      </Show>
    </aside>
  );
}
