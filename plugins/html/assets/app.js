// chatferry html export. Runs locally, makes no requests.
// Shows times in the viewer's own time zone (the UTC value stays in the
// tooltip) and marks media that loaded, so a test can see it.
(function () {
  function localize() {
    document.querySelectorAll("time[data-ms]").forEach(function (t) {
      var d = new Date(Number(t.getAttribute("data-ms")));
      if (!isNaN(d.getTime())) {
        t.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
        t.setAttribute("data-local", "1");
      }
    });
  }
  function watch(el, ok) {
    if (ok()) { el.setAttribute("data-loaded", "1"); return; }
    el.addEventListener("load", function () { el.setAttribute("data-loaded", "1"); });
    el.addEventListener("loadeddata", function () { el.setAttribute("data-loaded", "1"); });
    el.addEventListener("error", function () { el.setAttribute("data-loaded", "error"); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    localize();
    document.querySelectorAll("img").forEach(function (i) { watch(i, function () { return i.complete && i.naturalWidth > 0; }); });
  });
})();
