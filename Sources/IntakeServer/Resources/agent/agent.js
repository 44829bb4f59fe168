// A minimal agent console for the demo (docs/PROTOCOL.md, "Agent protocol"): plain JavaScript
// over WS /ws/agent. Log in with a token, take offers, read and answer conversations (with the
// bot's suggestions after a hand-over), acknowledge messages, close with a disposition, set
// presence. Real desktop clients implement the same protocol.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var ws = null, token = null, backoff = 500, current = null;
  var sessions = {};   // id → {lines: [], seq: 0, unread}

  function send(f) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(f)); }
  function status(text, cls) { $("conn").textContent = text; $("conn").className = "conn " + (cls || ""); }

  function session(id) {
    if (!sessions[id]) sessions[id] = { lines: [], seq: 0, unread: false, keys: {} };
    return sessions[id];
  }
  function line(id, who, text, meta, key) {
    var s = session(id);
    if (key) { if (s.keys[key]) return; s.keys[key] = true; }
    s.lines.push({ who: who, text: text, meta: meta || "" });
    if (id !== current) s.unread = true;
    drawSessions();
    if (id === current) drawLog();
  }
  function fromEnvelopeOrReply(id, item) {
    if (item.from) line(id, item.from === "bot" ? "bot" : "agent", item.text || "", item.from === "bot" ? "智能助手" : "坐席", "r" + item.id);
    else line(id, "citizen", item.text || ("[" + item.kind + "]"), item.channel + " · " + (item.receivedAt || "").replace("T", " ").slice(0, 19), "m" + item.id);
  }

  function drawSessions() {
    var ol = $("sessions");
    ol.textContent = "";
    Object.keys(sessions).forEach(function (id) {
      var li = document.createElement("li");
      li.textContent = id;
      li.setAttribute("data-session", id);
      if (id === current) li.className = "active";
      else if (sessions[id].unread) li.className = "unread";
      li.onclick = function () { open(id); };
      ol.appendChild(li);
    });
  }
  function drawLog() {
    var ol = $("log");
    ol.textContent = "";
    (sessions[current] ? sessions[current].lines : []).forEach(function (l) {
      var li = document.createElement("li");
      li.className = l.who;
      if (l.meta) { var m = document.createElement("span"); m.className = "meta"; m.textContent = l.meta; li.appendChild(m); }
      li.appendChild(document.createTextNode(l.text));
      ol.appendChild(li);
    });
    ol.scrollTop = ol.scrollHeight;
  }
  function open(id) {
    current = id;
    session(id).unread = false;
    $("title").textContent = "会话 " + id;
    ["text", "send", "close"].forEach(function (k) { $(k).disabled = false; });
    var s = session(id);
    var box = $("suggest");
    box.hidden = !s.suggestions || !s.suggestions.length;
    box.textContent = "";
    if (s.suggestions && s.suggestions.length) {
      box.appendChild(document.createTextNode("机器人建议 Bot suggestions: "));
      s.suggestions.forEach(function (g) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = g.question;
        b.title = g.answer;
        b.onclick = function () { $("text").value = g.answer; };
        box.appendChild(b);
      });
    }
    drawSessions();
    drawLog();
  }

  function addOffer(f) {
    var li = document.createElement("li");
    li.setAttribute("data-offer", f.offer);
    li.setAttribute("data-offer-session", f.session);
    var head = document.createElement("div");
    head.textContent = "优先级 " + f.priority + " · " + (f.skills || []).join(", ") + " · 已等待 " + Math.round((f.waitedMs || 0) / 1000) + " s";
    var pv = document.createElement("div"); pv.className = "pv"; pv.textContent = f.preview || "";
    var yes = document.createElement("button"); yes.textContent = "接入 Accept";
    yes.onclick = function () { send({ type: "accept", offer: f.offer }); };
    var no = document.createElement("button"); no.textContent = "拒绝 Decline";
    no.onclick = function () { send({ type: "decline", offer: f.offer }); li.remove(); };
    li.appendChild(head); li.appendChild(pv); li.appendChild(yes); li.appendChild(no);
    $("offers").appendChild(li);
  }
  function dropOffer(id) {
    var li = document.querySelector('[data-offer="' + id + '"]');
    if (li) li.remove();
  }

  function handle(f) {
    switch (f.type) {
      case "welcome":
        backoff = 500;
        status("在线 " + f.name, "live");
        $("me").textContent = f.name + " (" + f.agent + ")";
        $("presence").disabled = false;
        (f.sessions || []).forEach(function (id) { session(id); });
        drawSessions();
        break;
      case "offer": addOffer(f); break;
      case "revoked": dropOffer(f.offer); break;
      case "assigned":
        Array.prototype.forEach.call(document.querySelectorAll('[data-offer-session="' + f.session + '"]'), function (li) { li.remove(); });
        var s = session(f.session);
        (f.history || []).forEach(function (item) { fromEnvelopeOrReply(f.session, item); });
        if (f.botSuggestions) s.suggestions = f.botSuggestions;
        if (f.seq) { s.seq = f.seq; send({ type: "ack", session: f.session, upTo: f.seq }); }
        if (!current) open(f.session); else drawSessions();
        break;
      case "message":
        fromEnvelopeOrReply(f.session, f.envelope);
        session(f.session).seq = Math.max(session(f.session).seq, f.seq);
        send({ type: "ack", session: f.session, upTo: f.seq });
        break;
      case "sent": break;
      case "closed":
        line(f.session, "bot", "会话已结束 " + (f.reason || ""), "", "closed");
        break;
      case "error":
        line(current || "-", "bot", "错误 " + f.code + ": " + f.message);
        if (f.code === "unauthorized" || f.code === "token_expired") { token = null; status("登录失败", "down"); }
        break;
    }
  }

  function connect() {
    if (!token) return;
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent");
    ws.onopen = function () { send({ type: "hello", token: token }); };
    ws.onmessage = function (e) { try { handle(JSON.parse(e.data)); } catch (err) { /* ignore */ } };
    ws.onclose = function () {
      $("presence").disabled = true;
      if (!token) return;
      status("已断开，重连中", "down");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  $("login").addEventListener("submit", function (e) {
    e.preventDefault();
    token = $("token").value.trim() || $("token").placeholder;
    if (ws) ws.close();
    connect();
  });
  $("presence").addEventListener("change", function () { send({ type: "presence", state: $("presence").value }); });
  $("reply").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("text").value.trim();
    if (!text || !current) return;
    var clientId = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    send({ type: "send", session: current, text: text, clientId: clientId });
    line(current, "agent", text, "我", "c" + clientId);
    $("text").value = "";
  });
  $("close").addEventListener("click", function () {
    if (current) send({ type: "close", session: current, disposition: "resolved" });
  });
})();
