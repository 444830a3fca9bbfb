// Live totals on the scoring page: the server scores what is typed (nothing stored) and we show it.
// The answer controls sit beside their criterion and join the form by form="score-form".
(function () {
  var form = document.getElementById("score-form");
  if (!form) return;
  function controls() {
    return Array.prototype.filter.call(form.elements, function (el) { return el.name && el.name.indexOf("item:") === 0; });
  }
  if (!controls().length) return;
  var timer = null;
  var status = document.getElementById("preview-error");
  function fmt(x) { return String(Math.round(x * 100) / 100).replace(".", ","); }
  function text(sel, value) { var el = document.querySelector(sel); if (el) el.textContent = value; }
  function refresh() {
    var answers = {};
    // The answer and, when given, the points for its tier: the server's one scoring function
    // computes what is shown, so the live total is the figure that will be stored.
    controls().forEach(function (el) {
      var code = el.name.slice(5), pts = form.querySelector("[name='pts:" + code + "']")
        || document.querySelector("[name='pts:" + code + "'][form='score-form']");
      answers[code] = pts && pts.value.trim() && el.value.trim() ? {value: el.value, points: pts.value} : el.value;
    });
    fetch(form.dataset.preview, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf},
      body: JSON.stringify({phase: form.dataset.phase, answers: answers})
    }).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).then(function (res) {
      if (!res.ok) {  // say why instead of showing stale figures
        var d = res.body || {};
        var why = d.error || "Chưa tính được điểm: kiểm tra lại câu trả lời.";
        status.textContent = (d.details && d.details.length ? [why].concat(d.details).join(" · ") : why);
        return;
      }
      status.textContent = "";
      var out = res.body;
      Object.keys(out.items).forEach(function (c) {
        text("[data-item='" + c + "']", fmt(out.items[c].points));
        var mark = document.querySelector("[data-unconfirmed='" + c + "']");
        if (mark) mark.hidden = !(out.items[c].answered && out.items[c].unconfirmed);
        document.querySelectorAll("[data-tier='" + c + "']").forEach(function (li) {
          li.classList.toggle("on", out.items[c].answered && li.textContent.indexOf(out.items[c].tier) === 0);
        });
      });
      Object.keys(out.criteria).forEach(function (c) { text("[data-criterion='" + c + "']", fmt(out.criteria[c])); });
      out.groups.forEach(function (g) {
        text("[data-group-total='" + g.code + "']", fmt(g.total));
        text("[data-group-level='" + g.code + "']",
             g.level ? "Mức " + g.level + (g.level_name ? " (" + g.level_name + ")" : "") : (g.level_name || "chưa đạt mức"));
      });
      text("#unscored", out.unscored.length);
      var answered = document.getElementById("answered");
      if (answered) answered.textContent = Number(answered.dataset.of) - out.unscored.length;
    }).catch(function () { status.textContent = "Không tính thử được điểm (mất kết nối?)."; });
  }
  document.addEventListener("input", function (ev) {
    if (ev.target.form !== form) return;
    clearTimeout(timer); timer = setTimeout(refresh, 250);
  });
  document.addEventListener("change", function (ev) {
    if (ev.target.form !== form || ev.target.tagName !== "SELECT") return;
    clearTimeout(timer); timer = setTimeout(refresh, 50);
  });
})();
