// The citizens' chat widget: plain JavaScript, no framework, nothing from a CDN.
// Speaks the widget protocol on /ws/widget (docs/PROTOCOL.md): hello with the resume token kept
// in localStorage, messages with a clientId, and the broker's queue/assigned/message/closed
// frames. Reconnects with backoff when the connection drops. (A minimal page; the full widget
// is a later issue.)
(function () {
  "use strict";
  var log = document.getElementById("log");
  var statusEl = document.getElementById("status");
  var form = document.getElementById("form");
  var input = document.getElementById("text");
  var ws = null, backoff = 500, seen = {}, newest = "", counter = 0;

  function add(cls, text) {
    var li = document.createElement("li");
    li.className = cls;
    li.textContent = text;
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function onFrame(f) {
    switch (f.type) {
      case "welcome":
        try { localStorage.setItem("intake.resume", f.resume); } catch (e) { /* private mode: no resume */ }
        statusEl.textContent = "已连接";
        break;
      case "queue":
        statusEl.textContent = "排队中：第 " + f.position + " 位" + (f.etaSeconds == null ? "" : "，预计等待 " + Math.ceil(f.etaSeconds / 60) + " 分钟");
        break;
      case "assigned": statusEl.textContent = "客服 " + f.agentName + " 为您服务"; break;
      case "message":
        if (seen[f.id]) break;
        seen[f.id] = true;
        if (f.id > newest) newest = f.id;
        add("them", f.text);
        break;
      case "closed": statusEl.textContent = "会话已结束"; break;
      case "error": add("error", f.message); break;
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/ws/widget");
    ws.onopen = function () {
      backoff = 500;
      var hello = { type: "hello" };
      try { var r = localStorage.getItem("intake.resume"); if (r) hello.resume = r; } catch (e) { /* no storage */ }
      if (newest) hello.after = newest;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = function (ev) { try { onFrame(JSON.parse(ev.data)); } catch (e) { /* not ours */ } };
    ws.onclose = function () {
      statusEl.textContent = "连接已断开，正在重连…";
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text || !ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "message", clientId: Date.now().toString(36) + "-" + (counter++), text: text }));
    add("me", text);
    input.value = "";
  });

  connect();
})();
