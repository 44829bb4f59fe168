// The operations page: one WebSocket to /ws/ops, a frame at most once a second; tiles, a
// queue table and three small charts of the last ten minutes. Plain JavaScript, no library.
(function () {
  "use strict";
  var HISTORY = 600; // points kept per chart (one per frame: ten minutes)
  var series = { waiting: [], oldest: [], rate: [] };
  var $ = function (id) { return document.getElementById(id); };
  var backoff = 500;

  function fmtSeconds(s) {
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%"; }
  function bytes(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + u[i];
  }
  function text(id, v) { $(id).textContent = v; }

  function push(name, v) {
    var s = series[name];
    s.push(v);
    if (s.length > HISTORY) s.shift();
  }

  function draw(id, data) {
    var c = $(id), g = c.getContext("2d"), w = c.width, h = c.height;
    g.clearRect(0, 0, w, h);
    var max = 1;
    for (var i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
    g.strokeStyle = "#e6e9ee"; g.beginPath(); g.moveTo(0, h - 0.5); g.lineTo(w, h - 0.5); g.stroke();
    g.fillStyle = "#6b7785"; g.font = "11px sans-serif"; g.fillText(String(Math.round(max)), 4, 12);
    if (data.length < 2) return;
    g.strokeStyle = "#1f6feb"; g.lineWidth = 1.5; g.beginPath();
    for (var j = 0; j < data.length; j++) {
      var x = w - (data.length - 1 - j) * (w / (HISTORY - 1));
      var y = h - 2 - (data[j] / max) * (h - 16);
      if (j === 0) g.moveTo(x, y); else g.lineTo(x, y);
    }
    g.stroke();
  }

  function render(f) {
    text("at", f.at.replace("T", " ").replace("Z", " UTC"));
    text("waiting", f.waiting);
    text("oldest", fmtSeconds(f.oldestWaitSeconds));
    $("oldest").className = "value" + (f.oldestWaitSeconds > 180 ? " bad" : "");
    text("online", f.agents.online);
    text("agents", "示忙 away " + f.agents.away + " · 离线 offline " + f.agents.offline);
    text("sl", pct(f.serviceLevel.share));
    text("slsub", f.serviceLevel.targetSeconds + " s 内接起 accepted within target");
    var total = 0, parts = [];
    for (var ch in f.messagesPerSecond) { total += f.messagesPerSecond[ch]; if (f.messagesPerSecond[ch] > 0) parts.push(ch + " " + f.messagesPerSecond[ch]); }
    text("rate", total.toFixed(1));
    text("ratesub", parts.join(" · ") || "累计 total " + f.messagesTotal);
    text("bot", pct(f.bot.answerRate));
    text("botsub", "解答 answered " + f.bot.answered + " · 转人工 handed off " + f.bot.handedOff);
    text("open", f.sessionsOpen);
    text("opensub", "坐席处理中 with agents " + f.sessionsAssigned + " · 每分钟分配 " + f.assignmentsPerMinute + "/min");
    text("store", bytes(f.store.bytes));
    text("storesub", f.store.diskFreeRatio === null ? "" : "磁盘剩余 disk free " + pct(f.store.diskFreeRatio) + (f.ready ? "" : " · NOT READY"));

    var alerts = $("alerts");
    alerts.textContent = "";
    f.alerts.forEach(function (a) {
      var d = document.createElement("div");
      d.className = "alert " + a.severity;
      d.setAttribute("data-alert", a.name);
      d.textContent = "⚠ " + a.name + ": " + a.text;
      alerts.appendChild(d);
    });

    var tbody = $("queues").tBodies[0];
    tbody.textContent = "";
    f.queues.forEach(function (q) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-queue", q.name);
      if (q.depth > 0 && q.agentsAvailable === 0) tr.className = "hot";
      var name = document.createElement("td"); name.textContent = q.name; tr.appendChild(name);
      var depth = document.createElement("td"); depth.className = "num depth"; depth.textContent = q.depth; tr.appendChild(depth);
      var bars = document.createElement("td"), box = document.createElement("div"); box.className = "bars";
      var max = Math.max.apply(null, q.byPriority.concat([1]));
      for (var p = 9; p >= 0; p--) {
        var b = document.createElement("span");
        b.style.height = Math.round((q.byPriority[p] / max) * 18) + "px";
        b.title = "priority " + p + ": " + q.byPriority[p];
        box.appendChild(b);
      }
      bars.appendChild(box); tr.appendChild(bars);
      var old = document.createElement("td"); old.className = "num"; old.textContent = q.depth ? fmtSeconds(q.oldestWaitSeconds) : "–"; tr.appendChild(old);
      var av = document.createElement("td"); av.className = "num"; av.textContent = q.agentsAvailable; tr.appendChild(av);
      tbody.appendChild(tr);
    });

    push("waiting", f.waiting); push("oldest", f.oldestWaitSeconds); push("rate", total);
    draw("chartWaiting", series.waiting); draw("chartOldest", series.oldest); draw("chartRate", series.rate);
    document.body.setAttribute("data-frames", String((+document.body.getAttribute("data-frames") || 0) + 1));
  }

  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/ops");
    ws.onopen = function () { backoff = 500; $("conn").textContent = "实时 live"; $("conn").className = "conn live"; };
    ws.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (err) { return; }
      if (f.type === "ops") render(f);
    };
    ws.onclose = function () {
      $("conn").textContent = "已断开，重连中 reconnecting"; $("conn").className = "conn down";
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }
  connect();
})();
