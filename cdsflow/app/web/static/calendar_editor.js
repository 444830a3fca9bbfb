// The calendar editor: the table is sent to the server's validator (the one of
// `cdsflow calendar check`) as the officer types; problems and day-off flags come back by row,
// and the control of a refused cell is marked. Every control carries its cell key (data-key,
// data-header): a select, a text box or a textarea, whatever table.COLUMNS says.
(function () {
  var form = document.getElementById("calendar-form");
  if (!form) return;
  var table = document.getElementById("milestones");
  var timer = null;

  function draft() {
    var header = {}, rows = [];
    form.querySelectorAll("[data-header]").forEach(function (el) { header[el.dataset.header] = el.value; });
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      var row = {};
      tr.querySelectorAll("[data-key]").forEach(function (el) { row[el.dataset.key] = el.value; });
      rows.push(row);
    });
    return {header: header, rows: rows};
  }

  function cell(row, column) {
    if (row === "" || row === null) return form.querySelector("[data-header='" + column + "']");
    var tr = table.querySelector("tbody tr[data-row='" + row + "']");
    return tr && tr.querySelector("[data-key='" + column + "']");
  }

  function text(tag, cls, content) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    el.textContent = content;
    return el;
  }

  function showFlags(flags) {
    var box = document.getElementById("flags");
    box.replaceChildren();
    flags.forEach(function (f) {
      var p = text("p", "flag", (f.row === null ? "Thông tin chung" : "Dòng " + (f.row + 1)) + ": " + f.message + " ");
      p.dataset.row = f.row === null ? "" : f.row;
      p.dataset.column = f.column; p.dataset.found = f.found; p.dataset.suggested = f.suggested;
      var b = text("button", "small fix", "Dùng ngày " + f.suggested);
      b.type = "button";
      p.appendChild(b);
      box.appendChild(p);
    });
  }

  function showProblems(res) {
    var box = document.getElementById("problems");
    box.replaceChildren();
    table.querySelectorAll("tbody tr").forEach(function (tr) { tr.classList.remove("row-error"); });
    form.querySelectorAll(".cell-error").forEach(function (el) { el.classList.remove("cell-error"); });
    if (!res.problems.length) { box.appendChild(text("p", "ok", "Lịch hợp lệ.")); return; }
    var ul = document.createElement("ul");
    res.problems.forEach(function (x) {
      ul.appendChild(text("li", x.severity, (x.severity === "error" ? "Lỗi: " : "Cảnh báo: ") + x.message));
      if (x.severity === "error" && x.row !== null) {
        var tr = table.querySelector("tbody tr[data-row='" + x.row + "']");
        if (tr) tr.classList.add("row-error");
        var el = x.column && cell(x.row, x.column);
        if (el) el.classList.add("cell-error");
      } else if (x.severity === "error" && x.field) {
        var h = cell(null, x.field);
        if (h) h.classList.add("cell-error");
      }
    });
    box.appendChild(ul);
  }

  function check() {
    fetch(form.dataset.check, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf},
      body: JSON.stringify(draft())
    }).then(function (r) { return r.json(); }).then(function (res) {
      showProblems(res);
      showFlags(res.flags || []);
      form.dataset.checked = String(Number(form.dataset.checked || 0) + 1);
    });
  }

  function later() { clearTimeout(timer); timer = setTimeout(check, 300); }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  document.getElementById("flags").addEventListener("click", function (e) {
    if (!e.target.classList.contains("fix")) return;
    var p = e.target.closest(".flag");
    var el = cell(p.dataset.row, p.dataset.column);
    // The day as shown (dd/mm/yyyy); a cell typed otherwise gets the suggested day whole.
    if (el) {
      el.value = el.value.indexOf(p.dataset.found) >= 0
        ? el.value.replace(p.dataset.found, p.dataset.suggested) : p.dataset.suggested;
    }
    p.remove();
    check();
  });
  document.getElementById("add-row").addEventListener("click", function () {
    var body = table.querySelector("tbody");
    var last = body.querySelector("tr:last-child");
    var n = body.querySelectorAll("tr").length;
    var tr = last ? last.cloneNode(true) : null;
    if (!tr) return;
    tr.dataset.row = n;
    tr.classList.remove("row-error");
    tr.querySelectorAll("[role=group]").forEach(function (g) {
      g.setAttribute("aria-label", g.getAttribute("aria-label").replace(/^Dòng \d+/, "Dòng " + (n + 1)));
    });
    tr.querySelector("th").textContent = n + 1;
    tr.querySelectorAll("input, select, textarea").forEach(function (el) {
      el.value = "";
      el.classList.remove("cell-error");
      el.setAttribute("aria-label", el.getAttribute("aria-label").replace(/^Dòng \d+/, "Dòng " + (n + 1)));
    });
    body.appendChild(tr);
  });
  form.addEventListener("submit", function () {
    document.getElementById("draft_json").value = JSON.stringify(draft());
  });
})();
