// Where invite and reset links land (/console/password#token=...): set a password, or, with
// no live link, ask for a new one by email. The token stays in the URL's fragment, which the
// browser never sends to a server (nor in a Referer); it is posted to the API once.

const $ = (id) => document.getElementById(id);

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(data.error || `${response.status}`), { status: response.status });
  return data;
}

const token = new URLSearchParams(location.hash.slice(1)).get("token");

function askForLink(why) {
  $("set-password").hidden = true;
  $("ask-reset").hidden = false;
  $("ask-why").textContent = why;
}

$("ask-reset").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await post("/console/api/password-reset", { email: event.target.email.value })
    .catch((error) => ({ status: error.message }));
  $("ask-result").textContent = answer.status;
});

$("set-password").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  if (form.password.value !== form.again.value) {
    $("set-error").textContent = "The two passwords differ.";
    return;
  }
  try {
    await post("/console/api/password-reset/confirm", { token, new_password: form.password.value });
    history.replaceState(null, "", location.pathname);  // the link is spent: out of the URL
    $("login").querySelectorAll("form").forEach((f) => { f.hidden = true; });
    $("done").hidden = false;
  } catch (error) {
    if (error.status === 404) askForLink("This link was used or has expired. Ask for a new one:");
    else $("set-error").textContent = error.message.replace(/^new_password: /, "");
  }
});

if (!token) {
  askForLink("We will mail you a link to set a new password.");
} else {
  post("/console/api/password-reset/check", { token }).then(
    (link) => {
      $("set-password").hidden = false;
      $("set-password").username.value = link.email;
      $("link-for").textContent = (link.purpose === "invite" ? "Welcome, " : "For ") + link.name + " (" + link.email + ")";
    },
    () => askForLink("This link was used or has expired. Ask for a new one:"),
  );
}
