// Names as the call screen shows them. Display names are chosen by their owners, so two members
// may pick the same one (by accident, or to pass as someone in the chat). When names collide, each
// gets a tag from a hash of its participant id: the same on every member's screen, decided by
// nothing a server controls. Anyone with the link may pick any participant id, so an impostor can
// grind for a hash that starts like its target's; the tags then grow until they differ, so two
// members never show the same label. Names that differ only in case, width, spacing, invisible
// characters or a tag-like ending collide too, and invisible characters and direction overrides
// are not shown. Look-alike letters from other scripts are not caught; the security code still
// tells members apart.
import { sha256 } from "@noble/hashes/sha2.js";
import { type ChatEntry, type RosterEntry, toBase64url } from "../core";

/** How a name compares: invisible characters, case, width forms, spacing and a tag-like end folded away. */
function nameKey(name: string): string {
  return shownName(name)
    .normalize("NFKC")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim()
    .replace(TAG_LIKE_END, "");
}

/**
 * Characters that draw nothing or turn text around (zero-width spaces and joiners, soft hyphens,
 * fillers, tag letters, direction overrides): a name shows and compares without them, so
 * "Al\u200Bice" and an overridden "\u202EecilA" are both plain "Alice"s.
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/gu;
/** A name ending like a tag (" ·Ab3x"): compared without it, so no one can choose a label. */
const TAG_LIKE_END = /(\s*[\u00b7\u0387\u2022\u2027\u2219\u22c5\u30fb\uff65]\s*[a-z0-9_-]*)+$/u;

/**
 * A display name as the screen shows it. An empty one is a member of an ask-to-join call whose name
 * has not arrived under the call's key yet (docs/admission.md, Names), or a name of nothing but
 * invisible characters.
 */
function shownName(name: string): string {
  return name.replace(INVISIBLE, "") || "Someone";
}

export interface NamedMember {
  readonly participantId: string;
  readonly displayName: string;
}

/**
 * The label of each member: its name, tagged when another member has the same. Pass everyone the
 * call showed a name for, the chat's senders who have left included: an impostor's old lines keep
 * their tag after it is gone, and so do the lines of the one it imitated.
 */
export function nameLabels(members: readonly NamedMember[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const member of members) {
    if (!names.has(member.participantId)) names.set(member.participantId, member.displayName);
  }
  const groups = new Map<string, string[]>();
  for (const [participantId, name] of names) {
    groups.set(nameKey(name), [...(groups.get(nameKey(name)) ?? []), participantId]);
  }
  const labels = new Map<string, string>();
  for (const ids of groups.values()) {
    const tags = ids.length > 1 ? distinctTags(ids) : undefined;
    for (const id of ids) {
      const name = shownName(names.get(id) ?? "");
      labels.set(id, tags ? `${name} ·${tags.get(id)}` : name);
    }
  }
  return labels;
}

/**
 * The shortest tags (`first`, then 4 more characters at a time, of each id's hash) that differ
 * within the group.
 */
export function distinctTags(ids: readonly string[], first = 4): Map<string, string> {
  const hashes = ids.map((id) => [id, toBase64url(sha256(new TextEncoder().encode(id)))] as const);
  for (let length = first; ; length += 4) {
    const tags = new Map(hashes.map(([id, hash]) => [id, hash.slice(0, length)]));
    if (new Set(tags.values()).size === ids.length || length >= 43) return tags;
  }
}

/** The roster with each name replaced by its label. */
export function labelRoster(roster: RosterEntry[], labels: Map<string, string>): RosterEntry[] {
  return roster.map((entry) => ({
    ...entry,
    displayName: labels.get(entry.participantId) ?? entry.displayName,
  }));
}

/** Chat lines under their senders' labels; a sender who has left keeps the name it had. */
export function labelChat(entries: readonly ChatEntry[], labels: Map<string, string>): ChatEntry[] {
  return entries.map((entry) => {
    const label = labels.get(entry.from);
    return label === undefined || label === entry.displayName
      ? entry
      : { ...entry, displayName: label };
  });
}
