// What the room may relay to one member. The runtime queues whatever ws.send is given and tells
// nobody when a peer stops reading, so without a bound a member that never reads makes the isolate
// buffer without limit. Each member gets a byte budget refilled over time; a delivery beyond it
// disconnects that member (4442) instead of queueing more. An honest member receives a few kilobytes
// a second (key envelopes); the default budget is far above that.
//
// The budgets live in the object's memory only: writing an attachment per delivery would cost more
// than the relay itself. When the object is evicted (only after several idle seconds, in which the
// budget refills at its rate anyway) they start full again.
import type { RecipientBudget } from "./room-config";

export interface Allowance {
  bytes: number;
  at: number;
}

export function fullAllowance(budget: RecipientBudget, now: number): Allowance {
  return { bytes: budget.burst, at: now };
}

/** Charges one delivery of `amount` bytes; `null` means the member is over its budget. */
export function chargeDelivery(
  allowance: Allowance,
  budget: RecipientBudget,
  amount: number,
  now: number,
): Allowance | null {
  const seconds = Math.max(0, now - allowance.at) / 1000;
  const bytes = Math.min(budget.burst, allowance.bytes + seconds * budget.perSecond);
  if (amount > bytes) return null;
  return { bytes: bytes - amount, at: Math.max(now, allowance.at) };
}
