// Canned responses. In the reply box (console.js's #reply): "/" at the start opens the
// brand's responses whose shortcut starts with what follows; arrows and Enter put the one
// chosen, filled in for this conversation, in the box; Escape closes. In the panel, a
// brand's supervisors and admins list, add, change and delete them.
import { api } from "./api.js";
import { Listbox, listKey, optionId } from "./listbox.js";
import { conversation, mayManageCanned, openId } from "./store.js";
import { html, render, signal, effect } from "./ui.js";

const LIST_ID = "canned-list";
const SEARCH_DELAY_MS = 120;   // one request per pause in typing, not per key

// ---- the reply box ----

const found = signal(null);   // {query, items, active} while the "/" list is open

// "/sho" at the very start of the box, the caret still in that first word.
function shortcutAt(field) {
  const head = field.value.slice(0, field.selectionStart);
  const match = /^\/(\S*)$/.exec(head);
  return match ? match[1] : null;
}

function ReplyList() {
  const f = found.value;
  if (!f) return null;
  if (!f.items.length) {
    return html`<p class="suggest-empty" role="status">No canned response matches /${f.query}</p>`;
  }
  return html`<${Listbox} id=${LIST_ID} label="Canned responses" active=${f.active}
    options=${f.items.map((c) => ({ key: c.id, label: `/${c.shortcut} — ${c.title}`, detail: c.rendered }))}
    onPick=${insert} />`;
}

let reply = null;
let timer = null;
let asked = 0;       // answers to older searches are dropped
let dismissed = null;   // the box's text when Escape closed the list: stays closed until it changes

function search() {
  const query = shortcutAt(reply);
  clearTimeout(timer);
  if (query === null || reply.value === dismissed || !openId.value) {
    found.value = null;
    return;
  }
  const id = openId.value, mine = ++asked;
  timer = setTimeout(async () => {
    try {
      const q = encodeURIComponent(`/${query}`);
      const { canned_responses: items } = await api("GET", `/console/api/conversations/${id}/canned-responses?q=${q}`);
      if (mine === asked && id === openId.value) found.value = { query, items, active: 0 };
    } catch {
      if (mine === asked) found.value = null;
    }
  }, SEARCH_DELAY_MS);
}

function insert(index) {
  const item = found.value?.items[index];
  if (!item) return;
  const end = reply.value.search(/\s|$/);   // the "/shortcut" word is replaced
  reply.value = item.rendered + reply.value.slice(end);
  reply.setSelectionRange(item.rendered.length, item.rendered.length);
  dismissed = reply.value;
  found.value = null;
  // console.js listens to input (the typing indicator).
  reply.dispatchEvent(new Event("input", { bubbles: true }));
  reply.focus();
}

function onKey(event) {
  const f = found.value;
  if (event.target !== reply || !f) return;
  listKey(event, {
    count: f.items.length,
    active: f.active,
    move: (i) => { found.value = { ...f, active: i }; },
    pick: insert,
    close: () => { dismissed = reply.value; found.value = null; },
  });
}

// Hooks the list to the reply box. The keys are taken in the capture phase on the form, so
// they reach the list before console.js's own Enter-sends handler on the box.
export function attachToReply(field, form) {
  reply = field;
  const box = document.createElement("div");
  box.id = "canned-box";
  form.before(box);
  render(html`<${ReplyList} />`, box);
  field.setAttribute("aria-autocomplete", "list");
  field.addEventListener("input", search);
  field.addEventListener("click", search);
  field.addEventListener("blur", () => { clearTimeout(timer); found.value = null; });
  form.addEventListener("keydown", onKey, true);
  effect(() => {
    const f = found.value;
    const listed = f && f.items.length;
    if (listed) {
      field.setAttribute("aria-controls", LIST_ID);
      field.setAttribute("aria-activedescendant", optionId(LIST_ID, f.active));
    } else {
      field.removeAttribute("aria-controls");
      field.removeAttribute("aria-activedescendant");
    }
  });
  effect(() => { openId.value; dismissed = null; found.value = null; });
}

// ---- managing a brand's responses (its supervisors and admins) ----

const managed = signal({ brandId: null, items: [], error: "", editing: null, confirming: null });
const BLANK = { id: null, shortcut: "", title: "", text: "" };

async function loadManaged(brandId) {
  managed.value = { ...managed.value, brandId, items: [], error: "", editing: null };
  try {
    const { canned_responses: items } = await api("GET", `/console/api/canned-responses?brand_id=${brandId}`);
    if (managed.value.brandId === brandId) managed.value = { ...managed.value, items };
  } catch (e) {
    managed.value = { ...managed.value, error: e.message };
  }
}

async function save(event) {
  event.preventDefault();
  const form = event.target, m = managed.value, editing = m.editing;
  const body = { shortcut: form.shortcut.value.trim(), title: form.title.value.trim(), text: form.text.value };
  try {
    const saved = editing.id
      ? (await api("PUT", `/console/api/canned-responses/${editing.id}`, body)).canned_response
      : (await api("POST", "/console/api/canned-responses", { ...body, brand_id: m.brandId })).canned_response;
    const items = [...m.items.filter((c) => c.id !== saved.id), saved].sort((a, b) => a.shortcut.localeCompare(b.shortcut));
    managed.value = { ...managed.value, items, editing: null, error: "" };
  } catch (e) {
    managed.value = { ...managed.value, error: e.message };
  }
}

async function remove(item) {
  try {
    await api("DELETE", `/console/api/canned-responses/${item.id}`);
    managed.value = { ...managed.value, items: managed.value.items.filter((c) => c.id !== item.id), confirming: null };
  } catch (e) {
    managed.value = { ...managed.value, error: e.message };
  }
}

function Editor({ item }) {
  const cancel = () => { managed.value = { ...managed.value, editing: null, error: "" }; };
  return html`<form class="canned-form" onSubmit=${save} aria-label=${item.id ? `Change /${item.shortcut}` : "New canned response"}>
    <label>Shortcut <input name="shortcut" required pattern="[a-z0-9][a-z0-9_\\-]{0,39}" defaultValue=${item.shortcut}
      title="lowercase letters, digits, - and _" /></label>
    <label>Title <input name="title" required maxlength="200" defaultValue=${item.title} /></label>
    <label>Text <textarea name="text" required rows="4" maxlength="10000" defaultValue=${item.text}></textarea></label>
    <p class="cp-muted">Variables: {{contact.name}}, {{contact.email}}, {{agent.name}}, {{conversation.id}}</p>
    <span class="canned-buttons"><button type="submit">Save</button> <button type="button" class="secondary" onClick=${cancel}>Cancel</button></span>
  </form>`;
}

export function CannedManager() {
  const brandId = conversation.value?.brand_id;
  if (!mayManageCanned(brandId)) return null;
  const m = managed.value;
  const onToggle = (event) => { if (event.target.open && m.brandId !== brandId) loadManaged(brandId); };
  const edit = (item) => { managed.value = { ...m, editing: item, confirming: null, error: "" }; };
  // Keyed by brand: another brand's conversation starts with the section closed.
  return html`<details key=${brandId} class="cp-section canned-manager" onToggle=${onToggle}>
    <summary><h3>Canned responses of this brand</h3></summary>
    ${m.brandId === brandId ? html`
      <ul class="cp-list">
        ${m.items.map((c) => html`<li key=${c.id} class="canned-item">
          <div><strong>/${c.shortcut}</strong> ${c.title}</div>
          <div class="cp-muted canned-text">${c.text}</div>
          <span class="canned-buttons">
            <button type="button" class="secondary" onClick=${() => edit(c)} aria-label=${`Edit /${c.shortcut}`}>Edit</button>
            ${m.confirming === c.id
              ? html`<button type="button" class="danger" onClick=${() => remove(c)}>Delete /${c.shortcut}?</button>`
              : html`<button type="button" class="secondary" onClick=${() => { managed.value = { ...m, confirming: c.id }; }}
                  aria-label=${`Delete /${c.shortcut}`}>Delete</button>`}
          </span>
        </li>`)}
      </ul>
      ${m.editing ? html`<${Editor} key=${m.editing.id || "new"} item=${m.editing} />`
        : html`<button type="button" onClick=${() => edit(BLANK)}>Add a canned response</button>`}
      <p class="cp-error" role="alert">${m.error}</p>` : null}
  </details>`;
}
