// Who else is here: the colleagues viewing or typing in each conversation, part of the
// conversations store (store.js's event table hands it the "viewing" and "typing" events;
// list.js and header.js draw it). Consoles say "viewing" on open, on (re)connect and every
// 30 s (../presence.js; the server's protocol: web_console/hub.py, a closed tab stops at
// once); one not heard of for FORGET_MS is let go (a tab or a node that died without saying
// so), and a "typing…" not repeated for TYPING_MS stops.
import { signal } from "../panel/ui.js";

// conversation id -> [{id, name, typing}] of the colleagues (never the agent signed in here)
// who have it open, sorted by name. A new Map on each change; a conversation whose people did
// not change keeps its array, so only the list items whose people changed are redrawn.
export const presence = signal(new Map());
const FORGET_MS = 75_000;   // two missed 30-second refreshes, and some
const TYPING_MS = 10_000;   // a console repeats "typing" every 2 s while keys come
const said = new Map();     // "conversation agent" -> {name, viewing, typing}: when last said
const NOBODY = [];

function setPresence(conversationId, people) {
  const next = new Map(presence.value);
  if (people.length) next.set(conversationId, people);
  else next.delete(conversationId);
  presence.value = next;
}

// The conversation's people now, from what was said; the same array when nothing changed.
function reckon(conversationId, now) {
  const held = presence.value.get(conversationId) || NOBODY;
  const people = [];
  for (const [key, when] of said) {
    const [conv, id] = key.split(" ");
    if (conv !== conversationId) continue;
    if (now - when.viewing > FORGET_MS) { said.delete(key); continue; }
    people.push({ id, name: when.name, typing: now - when.typing < TYPING_MS });
  }
  people.sort((a, b) => a.name.localeCompare(b.name));
  const same = people.length === held.length
    && people.every((p, i) => p.id === held[i].id && p.name === held[i].name && p.typing === held[i].typing);
  if (!same) setPresence(conversationId, people);
}

// A "viewing" or "typing" event frame; `meId` is the agent signed in here (never shown).
export function heard(f, meId) {
  const author = f.data.author;
  // A customer's typing has no author (console.js shows it under the transcript).
  if (!author || !f.conversation_id || author.id === meId) return;
  const key = `${f.conversation_id} ${author.id}`;
  const now = Date.now();
  if (f.name === "viewing" && !f.data.active) {
    said.delete(key);
  } else {
    const when = said.get(key) || { viewing: now, typing: 0, name: "" };
    when.name = author.name || "A colleague";
    when.viewing = now;   // typing there is being there
    if (f.name === "typing") when.typing = f.data.active ? now : 0;
    said.set(key, when);
  }
  reckon(f.conversation_id, now);
}

// Viewers not heard of lately leave, typing that was not repeated stops.
setInterval(() => {
  const now = Date.now();
  for (const id of presence.peek().keys()) reckon(id, now);
}, 5_000);
