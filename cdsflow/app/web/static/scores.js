// Live totals on the scoring form: the server scores what is typed (nothing stored) and we show it.
(function () {
  var form = document.getElementById("score-form");
  if (!form || !form.querySelector("[name^='item:']")) return;
  var timer = null;
  function fmt(x) { return String(Math.round(x * 100) / 100).replace(".", ","); }
  function refresh() {
    var answers = {};
    form.querySelectorAll("[name^='item:']").forEach(function (el) { answers[el.name.slice(5)] = el.value; });
    fetch(form.dataset.preview, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf},
      body: JSON.stringify({phase: form.dataset.phase, answers: answers})
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (res) {
      if (!res) return;
      Object.keys(res.items).forEach(function (c) {
        var el = document.querySelector("[data-item='" + c + "']"); if (el) el.textContent = fmt(res.items[c].points);
      });
      Object.keys(res.criteria).forEach(function (c) {
        var el = document.querySelector("[data-criterion='" + c + "']"); if (el) el.textContent = fmt(res.criteria[c]);
      });
      res.groups.forEach(function (g) {
        var t = document.querySelector("[data-group-total='" + g.code + "']"); if (t) t.textContent = fmt(g.total);
        var l = document.querySelector("[data-group-level='" + g.code + "']");
        if (l) l.textContent = g.level ? "Mức " + g.level + (g.level_name ? " (" + g.level_name + ")" : "") : "chưa đạt mức";
      });
      document.getElementById("total").textContent = fmt(res.total);
      document.getElementById("unscored").textContent = res.unscored.length;
    });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
})();
