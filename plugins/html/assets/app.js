// chatferry html export. Runs locally, makes no requests: data comes in
// <script> files beside the pages (browsers refuse fetch() on file://).
// Shows times in the viewer's own time zone (the UTC value stays in the
// tooltip), puts a separator before each of the viewer's days, draws a
// chat's calendar, searches the index in search/, and marks media that
// loaded, so a test can see it.
var chatferry = (function () {
  var shards = {}, chatsMeta = null, daysData = {};

  // ---- tokens: the same rules as plugins/html/src/search.rs ----
  function isCjk(c) {
    return (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3130 && c <= 0x318f) ||
      (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) ||
      (c >= 0xf900 && c <= 0xfaff) || (c >= 0x20000 && c <= 0x2fa1f);
  }
  function isEmoji(c) {
    if (c >= 0x1f3fb && c <= 0x1f3ff) return false;
    return (c >= 0x1f000 && c <= 0x1faff) || (c >= 0x2600 && c <= 0x27bf) || (c >= 0x2b00 && c <= 0x2bff) ||
      (c >= 0x2300 && c <= 0x23ff) || (c >= 0x2190 && c <= 0x21ff) || (c >= 0x25a0 && c <= 0x25ff) ||
      c === 0x2934 || c === 0x2935 || c === 0x3030 || c === 0x303d || c === 0x3297 || c === 0x3299 ||
      c === 0xa9 || c === 0xae || c === 0x203c || c === 0x2049 || c === 0x2122 || c === 0x2139;
  }
  var alnum = /[\p{Alphabetic}\p{Nd}\p{Nl}\p{No}]/u;
  var utf8 = new TextEncoder();
  function tokens(text) {
    var out = [], word = "", cjk = [];
    function flushCjk() {
      for (var i = 0; i < cjk.length; i++) {
        out.push(cjk[i]);
        if (i + 1 < cjk.length) out.push(cjk[i] + cjk[i + 1]);
      }
      cjk = [];
    }
    for (var ch of text) {
      var c = ch.codePointAt(0);
      if (!isCjk(c) && alnum.test(ch)) { flushCjk(); word += ch.toLowerCase(); continue; }
      if (word) { out.push(word); word = ""; }
      if (isCjk(c)) { cjk.push(ch); continue; }
      flushCjk();
      if (isEmoji(c)) out.push(ch);
    }
    if (word) out.push(word);
    flushCjk();
    var seen = {};
    return out.filter(function (t) {
      if (seen[t] || utf8.encode(t).length > 64) return false;
      seen[t] = 1;
      return true;
    });
  }
  function shardOf(token) {
    var h = 0x811c9dc5, b = utf8.encode(token);
    for (var i = 0; i < b.length; i++) { h ^= b[i]; h = Math.imul(h, 0x01000193) >>> 0; }
    return h % 64;
  }

  // ---- times and days ----
  function localize() {
    // One formatter for the page: building one per time costs more than the rest.
    var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    document.querySelectorAll("time[data-ms]").forEach(function (t) {
      var d = new Date(Number(t.getAttribute("data-ms")));
      if (!isNaN(d.getTime())) {
        t.textContent = format.format(d);
        t.setAttribute("data-local", "1");
      }
    });
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function dayKey(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  var longDay = null;
  function daySeparators() {
    var last = null;
    document.querySelectorAll(".msg[data-ms]").forEach(function (m) {
      var d = new Date(Number(m.getAttribute("data-ms")));
      if (isNaN(d.getTime())) return;
      var key = dayKey(d);
      if (key === last) return;
      last = key;
      var sep = document.createElement("div");
      sep.className = "day";
      sep.setAttribute("data-day", key);
      sep.setAttribute("role", "separator");
      var label = document.createElement("span");
      longDay = longDay || new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
      label.textContent = longDay.format(d);
      sep.appendChild(label);
      m.parentNode.insertBefore(sep, m);
    });
  }
  // days.js: "<position delta>.<seconds delta>" pairs, base 36, for the
  // first message of each UTC quarter hour.
  function firstOfEachDay(chat) {
    var raw = daysData[chat], out = [], seen = {};
    if (!raw) return out;
    var pos = 0, secs = 0;
    raw.split(",").forEach(function (pair) {
      if (!pair) return;
      var p = pair.split(".");
      pos += parseInt(p[0], 36);
      secs += p[1].charAt(0) === "-" ? -parseInt(p[1].slice(1), 36) : parseInt(p[1], 36);
      var d = new Date(secs * 1000), key = dayKey(d);
      if (!seen[key]) { seen[key] = 1; out.push({ day: key, date: d, position: pos }); }
    });
    return out;
  }
  function pageOf(position, size) { return Math.floor((position - 1) / size) + 1; }
  function calendar() {
    var box = document.getElementById("calendar");
    if (!box) return;
    var started = performance.now();
    var chat = document.body.getAttribute("data-chat"), size = Number(document.body.getAttribute("data-page-size"));
    var days = firstOfEachDay(chat);
    box.textContent = "";
    if (!days.length) { box.textContent = "No messages."; return; }
    var byDay = {};
    days.forEach(function (d) { byDay[d.day] = d; });
    var jump = document.createElement("form");
    jump.className = "jump";
    var input = document.createElement("input");
    input.type = "date";
    input.setAttribute("aria-label", "Go to the first message on or after this day");
    input.min = days[0].day;
    input.max = days[days.length - 1].day;
    var go = document.createElement("button");
    go.type = "submit";
    go.textContent = "Go";
    jump.appendChild(input);
    jump.appendChild(go);
    jump.addEventListener("submit", function (e) {
      e.preventDefault();
      var target = days.find(function (d) { return d.day >= input.value; }) || days[days.length - 1];
      location.href = "page-" + pageOf(target.position, size) + ".html#m" + target.position;
    });
    box.appendChild(jump);
    // One month block per month that has messages.
    var months = [], seenMonth = {};
    days.forEach(function (d) {
      var m = d.day.slice(0, 7);
      if (!seenMonth[m]) { seenMonth[m] = 1; months.push(d.date); }
    });
    months.forEach(function (first) {
      var y = first.getFullYear(), mo = first.getMonth();
      var block = document.createElement("section");
      block.className = "month";
      var h = document.createElement("h3");
      h.textContent = new Date(y, mo, 1).toLocaleDateString(undefined, { year: "numeric", month: "long" });
      block.appendChild(h);
      var grid = document.createElement("div");
      grid.className = "days";
      // Weekday names, Monday first, in the viewer's language.
      for (var w = 0; w < 7; w++) {
        var head = document.createElement("b");
        head.textContent = new Date(2024, 0, 1 + w).toLocaleDateString(undefined, { weekday: "narrow" });
        head.setAttribute("aria-hidden", "true");
        grid.appendChild(head);
      }
      var count = new Date(y, mo + 1, 0).getDate();
      for (var day = 1; day <= count; day++) {
        var key = y + "-" + pad(mo + 1) + "-" + pad(day), hit = byDay[key], cell;
        if (hit) {
          cell = document.createElement("a");
          cell.href = "page-" + pageOf(hit.position, size) + ".html#m" + hit.position;
          cell.setAttribute("data-day", key);
        } else {
          cell = document.createElement("span");
        }
        cell.textContent = day;
        if (day === 1) cell.style.gridColumnStart = ((new Date(y, mo, 1).getDay() + 6) % 7) + 1;
        grid.appendChild(cell);
      }
      block.appendChild(grid);
      box.appendChild(block);
    });
    box.setAttribute("data-days", String(days.length));
    box.setAttribute("data-calendar-ms", String(Math.round(performance.now() - started)));
  }

  // ---- search ----
  function load(src, done) {
    var s = document.createElement("script");
    s.src = src;
    s.onload = done;
    s.onerror = done;
    document.head.appendChild(s);
  }
  // A token's postings: chat → ascending positions.
  function postings(token) {
    var shard = shards[shardOf(token)], out = {};
    var raw = shard && Object.prototype.hasOwnProperty.call(shard, token) ? shard[token] : "";
    raw.split(" ").forEach(function (part) {
      if (!part) return;
      var colon = part.indexOf(":"), chat = parseInt(part.slice(0, colon), 36), pos = 0, list = [];
      var deltas = part.slice(colon + 1).split(",");
      for (var i = 0; i < deltas.length; i++) { pos += parseInt(deltas[i], 36); list.push(pos); }
      out[chat] = list;
    });
    return out;
  }
  // Both ascending lists' common positions, in one pass.
  function both(a, b) {
    var out = [], i = 0, j = 0;
    while (i < a.length && j < b.length) {
      if (a[i] === b[j]) { out.push(a[i]); i++; j++; } else if (a[i] < b[j]) i++; else j++;
    }
    return out;
  }
  function search(query, onlyChat) {
    var words = tokens(query);
    // A CJK word of two or more characters is found by its pairs alone.
    var pairs = words.filter(function (t) { return [...t].length === 2 && isCjk(t.codePointAt(0)); });
    if (pairs.length) words = words.filter(function (t) { return !([...t].length === 1 && isCjk(t.codePointAt(0))); });
    if (!words.length) return [];
    var hits = null;
    words.forEach(function (t) {
      var p = postings(t);
      if (hits === null) { hits = p; return; }
      var next = {};
      Object.keys(hits).forEach(function (chat) {
        if (!p[chat]) return;
        var common = both(hits[chat], p[chat]);
        if (common.length) next[chat] = common;
      });
      hits = next;
    });
    var out = [];
    Object.keys(hits || {}).map(Number).sort(function (a, b) { return a - b; }).forEach(function (chat) {
      if (onlyChat !== null && String(chat) !== String(onlyChat)) return;
      hits[chat].forEach(function (pos) { out.push({ chat: chat, position: pos }); });
    });
    return out;
  }
  var dayFormat = null;
  function fmtDay(ms) {
    dayFormat = dayFormat || new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
    return dayFormat.format(new Date(ms));
  }
  function showResults(query, onlyChat) {
    var box = document.getElementById("results");
    if (!box) return;
    var started = performance.now();
    var words = tokens(query), need = {}, left = 0;
    words.forEach(function (t) { need[shardOf(t)] = 1; });
    var list = Object.keys(need).filter(function (s) { return !shards[s]; });
    function ready() {
      var hits = search(query, onlyChat);
      box.hidden = false;
      box.textContent = "";
      var h = document.createElement("h2");
      h.textContent = hits.length + (hits.length === 1 ? " message" : " messages") + " with “" + query + "”" +
        (onlyChat !== null && chatsMeta && chatsMeta[onlyChat] ? " in " + chatsMeta[onlyChat].title : "");
      box.appendChild(h);
      var ol = document.createElement("ol");
      var list = document.createDocumentFragment();
      hits.slice(0, 500).forEach(function (hit) {
        var meta = chatsMeta ? chatsMeta[hit.chat] : null, size = meta ? meta.size : 500;
        var page = pageOf(hit.position, size), li = document.createElement("li"), a = document.createElement("a");
        a.href = "chats/" + hit.chat + "/page-" + page + ".html#m" + hit.position;
        a.className = "result";
        a.textContent = (meta ? meta.title : "chat " + hit.chat) + " — message " + hit.position + ", page " + page;
        a.addEventListener("click", function () { window.name = "chatferry-q:" + query; });
        li.appendChild(a);
        var span = meta && meta.pages[page - 1];
        if (span) {
          var when = document.createElement("span");
          when.className = "when";
          when.textContent = " · " + fmtDay(span[0]) + (fmtDay(span[0]) === fmtDay(span[1]) ? "" : " – " + fmtDay(span[1]));
          li.appendChild(when);
        }
        list.appendChild(li);
      });
      ol.appendChild(list);
      box.appendChild(ol);
      if (hits.length > 500) {
        var more = document.createElement("p");
        more.textContent = "The first 500 are listed; add a word to narrow the search.";
        box.appendChild(more);
      }
      box.setAttribute("data-results", String(hits.length));
      box.setAttribute("data-search-ms", String(Math.round(performance.now() - started)));
    }
    if (!list.length) { ready(); return; }
    left = list.length;
    list.forEach(function (s) { load("search/" + s + ".js", function () { if (--left === 0) ready(); }); });
  }
  function searchFromAddress() {
    var params = new URLSearchParams(location.search), q = params.get("q");
    var field = document.querySelector("form.search input[type=search]");
    if (!q) return;
    if (field) field.value = q;
    var chat = params.get("here") === "1" && params.get("chat") !== null ? params.get("chat") : null;
    showResults(q, chat);
  }
  function highlight() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    target.classList.add("hit");
    target.setAttribute("data-hit", "1");
    if (window.name.indexOf("chatferry-q:") !== 0) return;
    var words = window.name.slice("chatferry-q:".length).split(/\s+/).filter(Boolean);
    window.name = "";
    target.querySelectorAll(".body, figcaption").forEach(function (el) {
      words.forEach(function (w) { mark(el, w); });
    });
  }
  function mark(el, word) {
    var walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT), nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    nodes.forEach(function (n) {
      var i = n.nodeValue.toLowerCase().indexOf(word.toLowerCase());
      if (i < 0 || (n.parentNode && n.parentNode.nodeName === "MARK")) return;
      var hit = n.splitText(i);
      hit.splitText(word.length);
      var m = document.createElement("mark");
      hit.parentNode.replaceChild(m, hit);
      m.appendChild(hit);
    });
  }

  // ---- keys: ← → between pages, / to search ----
  function keys() {
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (tag === "INPUT" || tag === "TEXTAREA" || e.altKey || e.ctrlKey || e.metaKey) return;
      var rel = e.key === "ArrowLeft" ? "prev" : e.key === "ArrowRight" ? "next" : null;
      if (rel) {
        var a = document.querySelector("a[rel=" + rel + "]");
        if (a) location.href = a.href;
      } else if (e.key === "/") {
        var f = document.querySelector("form.search input[type=search]");
        if (f) { e.preventDefault(); f.focus(); }
      }
    });
    document.querySelectorAll("form.search").forEach(function (form) {
      form.addEventListener("submit", function () {
        var chat = document.body.getAttribute("data-chat");
        if (chat !== null && !form.querySelector("input[name=chat]")) {
          var hidden = document.createElement("input");
          hidden.type = "hidden";
          hidden.name = "chat";
          hidden.value = chat;
          form.appendChild(hidden);
        }
      });
    });
  }

  function watch(el, ok) {
    if (ok()) { el.setAttribute("data-loaded", "1"); return; }
    el.addEventListener("load", function () { el.setAttribute("data-loaded", "1"); });
    el.addEventListener("loadeddata", function () { el.setAttribute("data-loaded", "1"); });
    el.addEventListener("error", function () { el.setAttribute("data-loaded", "error"); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    daySeparators();
    localize();
    calendar();
    keys();
    searchFromAddress();
    highlight();
    window.addEventListener("hashchange", highlight);
    document.querySelectorAll("img").forEach(function (i) { watch(i, function () { return i.complete && i.naturalWidth > 0; }); });
  });
  return {
    shard: function (n, data) { shards[n] = data; },
    chats: function (meta) { chatsMeta = meta; },
    days: function (chat, data) { daysData[chat] = data; },
    tokens: tokens,
    shardOf: shardOf,
    search: search
  };
})();
