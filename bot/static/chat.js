// Web chat client: every text is shown with textContent, never as HTML.
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  let user = params.get("user") || sessionStorage.getItem("qihu-user");
  const token = params.get("token") || "";
  let cursor = 0;
  const shown = new Set();
  const $ = (id) => document.getElementById(id);

  function bubble(text, cls, choices, link) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    div.textContent = text;
    if (link && /^https?:\/\//.test(link.url)) {  // a file to download: the report's signed link
      const a = document.createElement("a");
      a.className = "file";
      a.href = link.url;
      a.textContent = "下载：" + link.name;
      a.setAttribute("download", link.name);
      a.target = "_blank";
      a.rel = "noopener";
      div.appendChild(a);
    }
    if (choices && choices.length) {
      const row = document.createElement("div");
      row.className = "choices";
      choices.forEach((c, i) => {
        const b = document.createElement("button");
        b.type = "button";
        // Numbered like the prompts' "回复序号": typing the number picks the same option.
        b.textContent = (i + 1) + ". " + c.label;
        b.dataset.label = c.label;
        b.addEventListener("click", () => send(c.value, c.label));
        row.appendChild(b);
      });
      div.appendChild(row);
    }
    $("log").appendChild(div);
    $("log").scrollTop = $("log").scrollHeight;
  }

  // The poll's cursor moves only over what a poll returned: the reply to a send may carry a higher id
  // than a notice written just before it, and that notice must still come with the next poll.
  function show(messages, fromPoll) {
    messages.forEach((m) => {
      if (fromPoll) cursor = Math.max(cursor, m.id);
      if (shown.has(m.id)) return;
      shown.add(m.id);
      bubble(m.text, "bot", m.choices, m.link);
    });
  }

  async function send(text, label) {
    if (!text.trim()) return;
    bubble(label || text, "me");
    const body = { user, token, text, client_msg_id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random() };
    try {
      const r = await fetch("/api/web/messages", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const data = await r.json();
      if (!r.ok) { bubble(data.error || "发送失败", "bot"); return; }
      show(data.replies);
    } catch (e) {
      bubble("网络异常，消息可能未送达，请稍后重试。", "bot");
    }
  }

  async function poll() {
    try {
      const q = new URLSearchParams({ user, token, after: String(cursor) });
      const r = await fetch("/api/web/messages?" + q.toString());
      if (r.ok) show((await r.json()).messages, true);
    } catch (e) { /* try again on the next tick */ }
  }

  function start(u, label, placeholder) {
    user = u;
    sessionStorage.setItem("qihu-user", u);
    $("who").textContent = label || "";
    if (placeholder) $("input").placeholder = placeholder;
    $("picker").hidden = true;
    $("chat").hidden = false;
    $("input").focus();
    poll().then(() => { if (!shown.size) send("帮助", "帮助"); });
    setInterval(poll, 2000);
  }

  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("input").value;
    $("input").value = "";
    send(text);
  });

  fetch("/api/web/config").then((r) => r.json()).then((cfg) => {
    const hints = cfg.placeholders || {};
    const roleOf = (u) => (cfg.staff.find((s) => s.id === u) || { role: "enterprise" }).role;
    if (user && (token || cfg.demo)) {
      const staff = cfg.staff.find((s) => s.id === user);
      start(user, staff ? staff.name : "企业用户", hints[roleOf(user)]);
      return;
    }
    if (!cfg.demo) {
      $("denied").hidden = false;
      $("denied-text").textContent = "请从政务门户进入企业诉求服务（需要门户签名的身份）。";
      return;
    }
    $("picker").hidden = false;
    $("as-enterprise").addEventListener("click", () => start("ent-" + Math.random().toString(36).slice(2, 10), "企业用户", hints.enterprise));
    cfg.staff.forEach((s) => {
      const b = document.createElement("button");
      b.className = "pick";
      b.textContent = s.name;
      b.dataset.user = s.id;
      b.addEventListener("click", () => start(s.id, s.name, hints[s.role]));
      $("staff-list").appendChild(b);
    });
  });
})();
