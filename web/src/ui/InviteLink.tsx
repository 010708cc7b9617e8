// The invite link with a copy button. The link holds the call secret, so it is shown only to people
// already in (or creating) the call, and copying never sends it anywhere.
import { createSignal } from "solid-js";

export function InviteLink(props: { link: string }) {
  const [copied, setCopied] = createSignal<"idle" | "copied" | "failed">("idle");
  let input: HTMLInputElement | undefined;
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.link);
      setCopied("copied");
    } catch {
      input?.select();
      setCopied("failed");
    }
  }
  return (
    <div class="stack">
      <label>
        Invite link: anyone with it can join, so share it only with the people you want in the call
        <div class="invite">
          <input
            ref={input}
            type="text"
            readonly
            value={props.link}
            aria-label="Invite link"
            onFocus={(event) => event.currentTarget.select()}
          />
          <button type="button" class="btn" onClick={copy}>
            Copy link
          </button>
        </div>
      </label>
      <span class="muted" role="status" aria-live="polite">
        {copied() === "copied"
          ? "Link copied."
          : copied() === "failed"
            ? "Could not copy: the link is selected, press Ctrl+C."
            : ""}
      </span>
    </div>
  );
}
