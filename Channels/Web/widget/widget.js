// The citizens' chat widget (CONTRACT.md "Widget protocol", docs/PROTOCOL.md): plain
// JavaScript, no framework, nothing from a CDN. One WebSocket to /ws/widget on the same host.
//
// - hello {resume?, after?} → welcome {visitor, session, resume}: the resume token (128 random
//   bits from the broker, never a sequential id) is kept in localStorage, so a reload or a
//   reconnect continues the same visitor and session.
// - Each message gets a random clientId and stays in a local outbox until `ack {clientId, id}`
//   (sent by the broker only once the message is durable); after a reconnect the outbox is sent
//   again with the same clientIds, which the broker recognises as repeats: nothing is lost and
//   nothing is stored twice.
// - Replies (`message {from, text, id}`) are shown once each (by id); the newest id is sent as
//   `after` on the next hello so the broker resends only what this page has not shown.
// - queue {position, etaSeconds}, assigned {agentName}, closed {session} → banner and a rating
//   prompt (rate {session, score}).
// - Reconnects with exponential backoff and jitter (0.5 s … 15 s).
(function () {
  "use strict";
  var KEY = "intake.widget.v1";
  var log = document.getElementById("log");
  var statusEl = document.getElementById("status");
  var banner = document.getElementById("banner");
  var form = document.getElementById("form");
  var input = document.getElementById("text");
  var rating = document.getElementById("rating");
  var ws = null, backoff = 500, welcomed = false;

  var store = load();
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(store)); } catch (e) { /* private mode: memory only */ }
  }
  store.outbox = store.outbox || [];      // [{clientId, text}] not yet acknowledged
  store.seen = store.seen || [];          // reply ids shown (bounded)
  store.shown = store.shown || [];        // what the page showed, to redraw after a reload

  function randomId() {
    var b = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function bubble(cls, text, who, state) {
    var li = document.createElement("li");
    li.className = cls;
    if (who) { var w = document.createElement("span"); w.className = "who"; w.textContent = who; li.appendChild(w); }
    li.appendChild(document.createTextNode(text));
    if (state !== undefined) { var s = document.createElement("span"); s.className = "state"; s.textContent = state; li.appendChild(s); }
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
  }
  function note(text) { bubble("note", text); }
  function setState(li, text, failed) {
    var s = li && li.querySelector(".state");
    if (s) s.textContent = text;
    if (li) li.classList.toggle("failed", !!failed);
  }
  function showBanner(text, cls) {
    banner.hidden = !text;
    banner.textContent = text || "";
    banner.className = "banner" + (cls ? " " + cls : "");
  }
  function status(text, down) { statusEl.textContent = text; statusEl.className = "status" + (down ? " down" : ""); }

  // Redraw what this visitor saw before a reload.
  store.shown.forEach(function (m) { bubble(m.cls, m.text, m.who); });
  var pendingLis = {};
  store.outbox.forEach(function (m) { pendingLis[m.clientId] = bubble("me", m.text, null, "发送中…"); });
  function remember(cls, text, who) {
    store.shown.push({ cls: cls, text: text, who: who });
    if (store.shown.length > 200) store.shown.shift();
    save();
  }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function connect() {
    welcomed = false;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/ws/widget");
    ws.onopen = function () {
      var hello = { type: "hello" };
      if (store.resume) hello.resume = store.resume;
      if (store.after) hello.after = store.after;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      handle(f);
    };
    ws.onclose = function () {
      welcomed = false;
      status("连接已断开，正在重连…", true);
      var delay = backoff * (0.75 + Math.random() * 0.5);
      backoff = Math.min(backoff * 2, 15000);
      setTimeout(connect, delay);
    };
  }

  function handle(f) {
    switch (f.type) {
      case "welcome":
        welcomed = true;
        backoff = 500;
        store.visitor = f.visitor;
        if (f.resume) store.resume = f.resume;
        store.session = f.session || store.session;
        save();
        status("已连接");
        // Everything not yet acknowledged goes again, with the same clientIds.
        store.outbox.forEach(function (m) { send({ type: "message", clientId: m.clientId, text: m.text }); });
        break;
      case "ack":
        var i = indexOfClient(f.clientId);
        if (i >= 0) {
          var m = store.outbox.splice(i, 1)[0];
          remember("me", m.text);
          if (f.session) store.session = f.session;
          save();
        }
        setState(pendingLis[f.clientId], "已送达");
        delete pendingLis[f.clientId];
        break;
      case "queue":
        if (f.session) store.session = f.session;
        var eta = f.etaSeconds == null ? "" : "，预计等待约 " + Math.max(1, Math.round(f.etaSeconds / 60)) + " 分钟";
        showBanner(f.position > 1 ? "正在为您转接人工客服，您前面还有 " + (f.position - 1) + " 位" + eta
                                  : "正在为您转接人工客服，您是下一位" + eta);
        break;
      case "assigned":
        showBanner("客服 " + f.agentName + " 正在为您服务", "assigned");
        var who = (f.session || store.session) + "/" + f.agentName;
        if (store.assignedTo !== who) {      // a resume repeats `assigned`: say it once
          store.assignedTo = who;
          note("客服 " + f.agentName + " 已接入");
          remember("note", "客服 " + f.agentName + " 已接入");
        }
        break;
      case "message":
        if (f.id && store.seen.indexOf(f.id) >= 0) break;   // a resend after a reconnect
        if (f.id) {
          store.seen.push(f.id);
          if (store.seen.length > 500) store.seen.shift();
          if (!store.after || f.id > store.after) store.after = f.id;
        }
        var who = f.from === "bot" ? "智能助手" : "人工客服";
        bubble(f.from === "bot" ? "bot" : "agent", f.text, who);
        remember(f.from === "bot" ? "bot" : "agent", f.text, who);
        break;
      case "closed":
        showBanner("");
        note("本次会话已结束，如有新的问题可以继续留言。");
        remember("note", "本次会话已结束");
        store.closedSession = f.session;
        save();
        rating.hidden = false;
        break;
      case "error":
        if (f.clientId && pendingLis[f.clientId]) {
          setState(pendingLis[f.clientId], "发送失败：" + f.message + "（将自动重试）", true);
        } else {
          note("出错了：" + f.message);
        }
        break;
    }
  }

  function indexOfClient(id) {
    for (var i = 0; i < store.outbox.length; i++) if (store.outbox[i].clientId === id) return i;
    return -1;
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.replace(/^\s+|\s+$/g, "");
    if (!text) return;
    var m = { clientId: randomId(), text: text };
    store.outbox.push(m);
    save();
    pendingLis[m.clientId] = bubble("me", text, null, "发送中…");
    if (welcomed) send({ type: "message", clientId: m.clientId, text: text });
    input.value = "";
    rating.hidden = true;
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.submit(); }
  });

  Array.prototype.forEach.call(rating.querySelectorAll("button"), function (b) {
    b.addEventListener("click", function () {
      var score = +b.getAttribute("data-score");
      Array.prototype.forEach.call(rating.querySelectorAll("button"), function (o) {
        o.classList.toggle("on", +o.getAttribute("data-score") <= score);
      });
      if (store.closedSession && send({ type: "rate", session: store.closedSession, score: score })) {
        rating.querySelector("p").textContent = "感谢您的评价！";
        setTimeout(function () { rating.hidden = true; }, 1500);
      }
    });
  });

  connect();
})();
