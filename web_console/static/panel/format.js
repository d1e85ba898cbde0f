// How the panel words dates, reasons and amounts.

// Why the bot handed over, as console.js words it in the list (keep the two in step).
const REASONS = {
  requested_human: "asked for a person", low_confidence: "bot did not understand",
  negative_sentiment: "upset customer", out_of_scope: "out of scope",
  bot_requested: "bot handed over", intent_needs_human: "needs a person",
  unsupported_language: "language without bot", vip: "VIP", nlu_unavailable: "bot unavailable",
  bot_unavailable: "bot unavailable", no_bot: "no bot", automated_sender: "automated sender",
  // What the customer's words showed (routing/risk.py, routing/frustration.py).
  safety: "safety incident", account_takeover: "account taken over", fraud: "possible fraud",
  legal: "legal threat or chargeback", vulnerable_customer: "vulnerable customer or carer",
  press: "press enquiry", data_rights: "data-rights request (GDPR)",
  negotiation: "negotiation or exception", repeated_contact: "contacted us before",
  frustration: "frustrated customer", complex_first_message: "involved first message",
  // After the bot's knowledge-base answer (routing/knowledge.py).
  kb_not_helpful: "articles did not help", kb_no_answer: "no article answered",
  // Named by the shipped bot's own action (nlu/rasa_project/actions/actions.py).
  order_lookup_failed: "order lookup failed",
};

export function reasonText(reason) {
  return reason ? REASONS[reason] || reason.replace(/_/g, " ") : "";
}

// "3 Dec, 10:15", with the year when it is not this one.
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const options = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  if (date.getFullYear() !== new Date().getFullYear()) options.year = "numeric";
  return date.toLocaleString(undefined, options);
}

// A day without a time (order dates are days).
export function day(iso) {
  if (!iso) return "";
  // A bare "2026-12-05" is read as local midnight, not UTC's (which is the day before west of it).
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  const date = parts ? new Date(+parts[1], parts[2] - 1, +parts[3]) : new Date(iso);
  return date.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

export function amount(value) {
  return Number(value || 0).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function signed(value) {
  return (value > 0 ? "+" : value < 0 ? "−" : "") + Math.abs(value).toFixed(2);
}
