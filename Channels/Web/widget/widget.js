// The citizens' chat widget: plain JavaScript, no framework, nothing from a CDN.
// Connects to /ws/widget on the same host and reconnects with backoff when the connection drops.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var statusEl = document.getElementById("status");
  var form = document.getElementById("form");
  var input = document.getElementById("text");
  var ws = null, backoff = 500;

  function add(cls, text) {
    var li = document.createElement("li");
    li.className = cls;
    li.textContent = text;
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/ws/widget");
    ws.onopen = function () { statusEl.textContent = "已连接"; backoff = 500; };
    ws.onmessage = function (ev) { add("them", String(ev.data)); };
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
    ws.send(text);
    add("me", text);
    input.value = "";
  });

  connect();
})();
