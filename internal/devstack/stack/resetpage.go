package stack

import "net/http"

// resetPage stands in for the library's own "set a new password" page, which
// e-mailed reset links open. It reads the token from the URL fragment (never
// sent to a server) and posts it with the new password to the API.
func resetPage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(resetHTML))
}

const resetHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Set a new password</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;margin:.4rem 0}input{padding:.5rem}button{padding:.6rem}
#msg{margin-top:1rem}</style></head>
<body><h1>Set a new password</h1>
<p>Local stack stand-in for your library's page. Use at least 15 characters; a few unrelated words work well.</p>
<form id="f"><label for="p">New password</label><input id="p" type="password" autocomplete="new-password" required>
<label for="c">Type it again</label><input id="c" type="password" autocomplete="new-password" required>
<button>Save password</button></form><p id="msg" role="status"></p>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
history.replaceState(null, "", location.pathname);
const msg = document.getElementById("msg");
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const p = document.getElementById("p").value, c = document.getElementById("c").value;
  if (p !== c) { msg.textContent = "The two passwords do not match."; return; }
  const r = await fetch("/v1/auth/password-reset", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify({token, password: p})});
  const body = await r.json().catch(() => ({}));
  msg.textContent = r.ok ? body.message : (body.error && body.error.message) || "Something went wrong.";
});
</script></body></html>
`
