// Sign-in page: the other pages send the browser here without a session cookie; once
// /api/whoami has set one (from the token kept in localStorage, or the form), go back.
const next = document.getElementById("signin-page").dataset.next || "/";
const FORWARDED = "signinForwarded";

onSignedIn(() => {
  // A browser that drops the cookie would bounce straight back here from the same page:
  // forward to a page at most once in 5 s.
  let last = {};
  try { last = JSON.parse(sessionStorage.getItem(FORWARDED) || "{}"); } catch (e) { last = {}; }
  if (last.next === next && Date.now() - last.at < 5000) {
    say("Signed in, but the page sent you back: does this browser keep cookies for this site?",
        "error");
    return;
  }
  sessionStorage.setItem(FORWARDED, JSON.stringify({next, at: Date.now()}));
  location.replace(next);
});
