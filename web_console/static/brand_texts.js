// "Chat texts" in the Supervisor view: a brand's web chat greeting and the closing message a
// customer gets when their conversation is resolved, per language, for the brands the agent
// supervises (every brand for admins). console.js says when the console starts and which
// view is shown; the texts are read when the Supervisor view opens.

import { api, el } from "./dom.js";

const KINDS = [
  ["greeting", "Greeting", "What the web chat says first."],
  ["closing", "Closing message", "Sent when a conversation is resolved, before the rating question."],
];
const LANGUAGES = { en: "English", fr: "French" };

let brands = [];
let section = null;

function label(code) {
  return LANGUAGES[code] ? `${LANGUAGES[code]} (${code})` : code;
}

function textOf(brand, kind, language) {
  return brand.texts.find((t) => t.kind === kind && t.language === language);
}

function editor(brand, language) {
  const box = el("div", { className: "brand-texts-editor" });
  for (const [kind, title, hint] of KINDS) {
    const text = textOf(brand, kind, language);
    const id = `brand-text-${kind}`;
    const area = el("textarea", { id, rows: 3, maxLength: 2000, value: text ? text.text : "" });
    area.setAttribute("aria-describedby", `${id}-hint`);
    const state = el("span", { className: "brand-text-state", text: text && text.custom ? "the brand's own words" : "default words" });
    const status = el("p", { role: "status", className: "brand-text-status" });
    const save = el("button", { type: "submit", text: `Save ${title.toLowerCase()}` });
    const reset = el("button", { type: "button", text: "Use the default", disabled: !(text && text.custom) });
    const path = `/console/api/brands/${brand.brand_id}/texts/${kind}/${language}`;
    const done = (view, said) => {
      const index = brand.texts.findIndex((t) => t.kind === kind && t.language === language);
      if (index >= 0) brand.texts[index] = view; else brand.texts.push(view);
      area.value = view.text;
      state.textContent = view.custom ? "the brand's own words" : "default words";
      reset.disabled = !view.custom;
      status.textContent = said;
    };
    const form = el("form", { className: "brand-text" },
      el("div", { className: "brand-text-head" },
        el("label", { htmlFor: id, text: `${title} — ${label(language)}` }), state),
      el("p", { id: `${id}-hint`, className: "hint", text: hint }),
      area, el("div", { className: "brand-text-actions" }, save, reset), status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        done((await api("PUT", path, { text: area.value })).text, "Saved.");
      } catch (e) { status.textContent = e.message; }
    });
    reset.addEventListener("click", async () => {
      try {
        done((await api("DELETE", path)).text, "Back to the default words.");
        // The button is disabled now (nothing more to reset), which drops the keyboard's
        // focus to the page's body: the text it put back takes it.
        area.focus();
      } catch (e) { status.textContent = e.message; }
    });
    box.append(form);
  }
  return box;
}

function render() {
  if (!brands.length) { section.hidden = true; return; }
  section.hidden = false;
  const brandPick = el("select", { id: "brand-texts-brand" });
  for (const b of brands) brandPick.append(el("option", { value: b.brand_id, text: b.brand_name }));
  const languagePick = el("select", { id: "brand-texts-language" });
  const holder = el("div");
  const fill = () => {
    const brand = brands.find((b) => b.brand_id === brandPick.value) || brands[0];
    const languages = [...new Set(brand.texts.map((t) => t.language))];
    const chosen = languagePick.value;
    languagePick.replaceChildren(...languages.map((l) => el("option", { value: l, text: label(l) })));
    if (languages.includes(chosen)) languagePick.value = chosen;
    holder.replaceChildren(editor(brand, languagePick.value));
  };
  brandPick.addEventListener("change", fill);
  languagePick.addEventListener("change", fill);
  const picks = el("div", { className: "brand-texts-picks" },
    el("label", { htmlFor: "brand-texts-brand", text: "Brand" }), brandPick,
    el("label", { htmlFor: "brand-texts-language", text: "Language" }), languagePick);
  section.replaceChildren(el("h2", { id: "brand-texts-title", text: "Chat texts" }), picks, holder);
  fill();
}

async function load() {
  try {
    brands = (await api("GET", "/console/api/brand-texts")).brands;
    render();
  } catch (e) {
    section.replaceChildren(el("p", { role: "alert", text: e.message }));
  }
}

document.addEventListener("console:start", () => {
  if (section) return;
  section = el("section", { id: "brand-texts", hidden: true });
  section.setAttribute("aria-labelledby", "brand-texts-title");
  document.getElementById("supervisor").append(section);
});
document.addEventListener("console:view", (event) => {
  if (event.detail === "supervisor" && section) load();
});
