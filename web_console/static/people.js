// The people area (admins): who holds which roles and teams in each brand.
// An ES module of its own; console.js tells it when the console starts ("console:start",
// with the signed-in agent) and which view is shown ("console:view").

import { api, el } from "./dom.js";

const ROLES = [
  ["supervisor", "Supervisor", "conversations, queues, agents and reports of the brand"],
  ["agent", "Agent", "conversations of the brand's teams they are in"],
  ["analyst", "Analyst", "reports and conversations, read-only"],
  ["designer", "Bot designer", "the brand's bot"],
  ["editor", "Content editor", "the brand's knowledge base"],
];

const area = document.getElementById("people-area");
let state = { brands: [], people: [] };

function brandName(id) {
  const brand = state.brands.find((b) => b.id === id);
  return brand ? brand.name : "another brand";
}

function summary(person) {
  if (person.admin) return "Admin (every brand)";
  const parts = Object.entries(person.roles).map(
    ([brand, roles]) => `${brandName(brand)}: ${roles.join(", ")}`,
  );
  return parts.length ? parts.join("; ") : "no role yet";
}

function render() {
  const table = el("table", { id: "people-table" },
    el("caption", { text: "People and what they may reach" }),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: "Name" }),
      el("th", { scope: "col", text: "Email" }),
      el("th", { scope: "col", text: "Roles" }),
      el("th", { scope: "col", text: "" }))));
  const body = el("tbody");
  for (const person of state.people) {
    const edit = el("button", { type: "button", text: "Edit", "aria-label": `Edit ${person.name}` });
    edit.addEventListener("click", () => openEditor(person));
    body.append(el("tr", {},
      el("td", { text: person.name }),
      el("td", { text: person.email }),
      el("td", { text: summary(person) }),
      el("td", {}, edit)));
  }
  table.append(body);
  area.replaceChildren(
    el("h2", { text: "People" }), inviteForm(), table, el("div", { id: "people-editor" }),
    auditSection(),
  );
}

// ---- inviting a colleague: they get a mail with a link to set their password ----

function inviteForm() {
  const email = el("input", { id: "invite-email", type: "email", required: true, autocomplete: "off" });
  const name = el("input", { id: "invite-name", required: true, autocomplete: "off" });
  const brand = el("select", { id: "invite-brand" });
  for (const b of state.brands) brand.append(el("option", { value: b.id, text: b.name }));
  const role = el("select", { id: "invite-role" });
  for (const [value, label] of ROLES) role.append(el("option", { value, text: label }));
  role.value = "agent";
  const result = el("p", { role: "status", className: "invite-result" });
  const form = el("form", { className: "invite-form", "aria-label": "Invite a colleague" },
    el("h3", { text: "Invite a colleague" }),
    el("label", { htmlFor: "invite-email", text: "Email" }), email,
    el("label", { htmlFor: "invite-name", text: "Name" }), name,
    el("label", { htmlFor: "invite-brand", text: "Brand" }), brand,
    el("label", { htmlFor: "invite-role", text: "Role" }), role,
    el("button", { type: "submit", text: "Send invitation" }), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = state.brands.find((b) => b.id === brand.value);
    const takesTeams = ["agent", "supervisor"].includes(role.value);
    try {
      const made = await api("POST", "/console/api/people", {
        email: email.value.trim(), name: name.value.trim(), brand_id: brand.value,
        roles: [role.value],
        // An agent joins the brand's teams; they can be changed with Edit.
        team_ids: takesTeams && chosen ? chosen.teams.map((t) => t.id) : [],
      });
      state.people = [...state.people, made.person].sort((a, b) => a.name.localeCompare(b.name));
      render();
      document.querySelector(".invite-result").textContent = made.mailed
        ? `Invitation mailed to ${made.person.email}.`
        : `No mail could go: hand ${made.person.email} this link: ${made.link}`;
    } catch (e) {
      result.textContent = e.message;
    }
  });
  return form;
}

// ---- the audit log: who did what and when, newest first, filtered, a page at a time ----

function auditSection() {
  const action = el("input", { id: "audit-action", name: "action", placeholder: "e.g. agent. or contact.erased" });
  const actor = el("input", { id: "audit-actor", name: "actor", placeholder: "email, admin token, system" });
  const rows = el("tbody");
  const error = el("p", { role: "alert", className: "people-error" });
  const more = el("button", { type: "button", text: "Older entries", hidden: true });
  let next = null;
  const fetchPage = async (reset) => {
    const params = new URLSearchParams();
    if (action.value.trim()) params.set("action", action.value.trim());
    if (actor.value.trim()) params.set("actor", actor.value.trim());
    if (!reset && next) params.set("before", String(next));
    try {
      const page = await api("GET", `/console/api/audit?${params}`);
      if (reset) rows.replaceChildren();
      for (const e of page.entries) {
        rows.append(el("tr", {},
          el("td", { text: new Date(e.at).toLocaleString() }),
          el("td", { text: e.actor_label }),
          el("td", { text: e.action }),
          el("td", { text: e.target_kind ? `${e.target_kind} ${e.target_id || ""}` : "" }),
          el("td", { text: e.brand_id ? brandName(e.brand_id) : "" })));
      }
      next = page.next;
      more.hidden = next === null;
      error.textContent = "";
    } catch (e) {
      error.textContent = e.message;
    }
  };
  const form = el("form", { className: "audit-filters", "aria-label": "Filter the audit log" },
    el("label", { htmlFor: "audit-action", text: "Action " }), action,
    el("label", { htmlFor: "audit-actor", text: "Who " }), actor,
    el("button", { type: "submit", text: "Filter" }));
  form.addEventListener("submit", (event) => { event.preventDefault(); fetchPage(true); });
  more.addEventListener("click", () => fetchPage(false));
  const table = el("table", { id: "audit-table" },
    el("caption", { text: "Audit log: who did what and when" }),
    el("thead", {}, el("tr", {},
      ...["When", "Who", "Action", "On", "Brand"].map((h) => el("th", { scope: "col", text: h })))),
    rows);
  fetchPage(true);
  return el("section", { "aria-label": "Audit log", className: "audit" },
    el("h2", { text: "Audit log" }), form, error, table, more);
}

function openEditor(person) {
  const holder = document.getElementById("people-editor");
  const brandSelect = el("select", { id: "people-brand", name: "brand" });
  for (const brand of state.brands) brandSelect.append(el("option", { value: brand.id, text: brand.name }));
  const roles = el("fieldset", { className: "people-roles" }, el("legend", { text: "Roles in this brand" }));
  const teams = el("fieldset", { className: "people-teams" }, el("legend", { text: "Teams in this brand" }));
  const admin = el("input", { type: "checkbox", id: "people-admin", checked: person.admin });
  const error = el("p", { role: "alert", className: "people-error" });
  const fill = () => {
    const brand = state.brands.find((b) => b.id === brandSelect.value);
    const held = person.roles[brand.id] || [];
    roles.replaceChildren(roles.firstChild);
    for (const [value, label, hint] of ROLES) {
      const box = el("input", { type: "checkbox", name: "role", value, checked: held.includes(value) });
      roles.append(el("label", { title: hint }, box, ` ${label}`), el("span", { className: "hint", text: hint }));
    }
    teams.replaceChildren(teams.firstChild);
    for (const team of brand.teams) {
      const box = el("input", { type: "checkbox", name: "team", value: team.id, checked: person.team_ids.includes(team.id) });
      teams.append(el("label", {}, box, ` ${team.name}`));
    }
    if (!brand.teams.length) teams.append(el("p", { text: "This brand has no team yet." }));
  };
  brandSelect.addEventListener("change", fill);
  const form = el("form", { className: "people-form", "aria-label": `Access of ${person.name}` },
    el("h3", { text: `${person.name} — ${person.email}` }),
    el("div", { className: "people-brand" }, el("label", { htmlFor: "people-brand", text: "Brand " }), brandSelect),
    roles, teams,
    el("label", {}, admin, " Admin: every power in every brand"),
    el("p", { className: "hint", text: "Saving new roles signs them out everywhere: they sign in again under the new roles." }),
    el("button", { type: "submit", text: "Save" }),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    try {
      const { person: saved } = await api("PUT", `/console/api/people/${person.id}/access`, {
        brand_id: brandSelect.value, roles: checked("role"), team_ids: checked("team"), admin: admin.checked,
      });
      state.people = state.people.map((p) => (p.id === saved.id ? saved : p));
      render();
      document.getElementById("people-editor").append(el("p", { role: "status", text: `Saved ${saved.name}.` }));
    } catch (e) {
      error.textContent = e.message;
    }
  });
  holder.replaceChildren(form);
  fill();
  brandSelect.focus();
}

async function load() {
  try {
    state = await api("GET", "/console/api/people");
    render();
  } catch (e) {
    area.replaceChildren(el("p", { role: "alert", text: e.message }));
  }
}

document.addEventListener("console:start", (event) => {
  document.getElementById("people-tab").hidden = !event.detail.admin;
});
document.addEventListener("console:view", (event) => {
  const shown = event.detail === "people";
  area.hidden = !shown;
  document.getElementById("transcript").hidden = shown;
  if (shown) load();
});
