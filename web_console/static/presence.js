// Teamwork without collisions (issue 16): this console tells its colleagues which conversation
// it has open ("viewing", a frame on the console socket: web_console/hub.py), when one opens,
// on every (re)connect and every 30 s, so that theirs can let it go when its tab or node dies
// without saying so. What the colleagues' consoles say back is kept by the conversations store
// (conversations/viewers.js, fed the "viewing" and "typing" events by store.js) and shown by
// its components: the list item ("with Sam") and the open conversation's header ("Sam is
// typing…"). Nothing here draws.

const REFRESH_MS = 30_000;   // the store forgets a viewer not heard of for 75 s

let open = null;

function say() {
  if (!open) return;
  document.dispatchEvent(new CustomEvent("console:send", {
    detail: { type: "viewing", conversation_id: open },
  }));
}

document.addEventListener("console:open", (event) => { open = event.detail; say(); });
document.addEventListener("console:connected", say);
setInterval(say, REFRESH_MS);
