// Shared by the tools: who is signed in (kept in localStorage) and JSON calls to the API.
const Auth = {
  get name() { return localStorage.getItem("annotator") || ""; },
  get token() { return localStorage.getItem("annotatorToken") || ""; },
  set(name, token) {
    localStorage.setItem("annotator", name);
    localStorage.setItem("annotatorToken", token);
  },
  clear() { localStorage.removeItem("annotator"); localStorage.removeItem("annotatorToken"); },
};

async function api(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-Annotator": Auth.name, "X-Token": Auth.token},
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {error: response.statusText}; }
  if (!response.ok) {
    const error = new Error(data.error || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function say(text, kind) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = "message " + (kind || "");
}

function fmt(seconds) { return seconds.toFixed(3); }

function showWho() {
  const signedIn = !!Auth.name;
  document.getElementById("who").textContent = signedIn ? `signed in as ${Auth.name}` : "";
  for (const id of ["signin-name", "signin-token", "signin-button"]) {
    document.getElementById(id).hidden = signedIn;
  }
  document.getElementById("signout-button").hidden = !signedIn;
}

// Pages call onSignedIn(start): start() runs now if signed in, else after a successful sign-in.
let signedInHook = null;
function onSignedIn(start) {
  signedInHook = start;
  if (!Auth.name) {
    say("Sign in (name and token) to start.");
    return;
  }
  // whoami renews the session cookie that pages, previews and videos are loaded with
  api("/api/whoami").then(start, (e) => {
    if (e.status === 401 || e.status === 403) {  // a stored token that no longer works
      Auth.clear();
      showWho();
    }
    say(e.message, "error");
  });
}

document.addEventListener("DOMContentLoaded", () => {
  showWho();
  document.getElementById("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = document.getElementById("signin-name").value.trim();
    const token = document.getElementById("signin-token").value.trim();
    Auth.set(name, token);
    try {
      await api("/api/whoami");
      showWho();
      say(`Signed in as ${name}.`, "ok");
      if (signedInHook) signedInHook();
    } catch (e) {
      Auth.clear();
      say(e.message, "error");
    }
  });
  document.getElementById("signout-button").addEventListener("click", async () => {
    Auth.clear();
    try { await api("/api/signout"); } catch (e) { /* the cookie ends with the tab anyway */ }
    location.assign("/signin");
  });
});

// Animate a film-strip preview (frames side by side in one image) inside `box`.
let strips = [];
function addStrip(box, url, frames) {
  box.style.backgroundImage = `url("${url}")`;
  box.style.backgroundSize = `${frames * 100}% 100%`;
  strips.push({box, frames});
}
let stripFrame = 0;
setInterval(() => {
  stripFrame += 1;
  strips = strips.filter((s) => s.box.isConnected);
  for (const s of strips) {
    if (s.frames < 2) continue;
    const i = stripFrame % s.frames;
    s.box.style.backgroundPosition = `${(100 * i) / (s.frames - 1)}% 0`;
  }
}, 125);
