// What the console's ES modules share: building elements (text is only ever set as text,
// never parsed as markup) and calling the console's API.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

// The API's JSON answer; a refusal throws an Error with the server's message and `status`.
export async function api(method, path, body) {
  return answerOf(await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  }));
}

// A GET the page started before the modules ran (boot.js), taken once; else a fresh one.
// A refused early answer (signed out when the page loaded, signed in since) is read again.
export async function firstGet(name, path) {
  const boot = window.switchboardBoot;
  const early = boot && boot[name];
  if (early) {
    boot[name] = null;
    const response = await early.catch(() => null);
    if (response && response.ok) return answerOf(response);
  }
  return api("GET", path);
}

async function answerOf(response) {
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(data.error || `${response.status}`), { status: response.status });
  }
  return data;
}
