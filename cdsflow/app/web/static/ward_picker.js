// The ward picker of the schools list: typing asks the server for a page of matching wards
// (GET /api/campaigns/{id}/wards?q=…), never loading them all; choosing one fills the hidden
// `bureau` field. Without JavaScript the "Chọn trong danh sách…" link does the same on its own page.
(function () {
  "use strict";
  var box = document.querySelector(".picker[data-source]");
  if (!box) return;
  var input = box.querySelector("#bureau-q"), hidden = box.querySelector("#bureau"),
      list = box.querySelector("#bureau-options"), timer = null, asked = 0;

  function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); }

  function choose(id, name) {
    hidden.value = id; input.value = name; close();
  }

  function show(data, seq) {
    if (seq !== asked) return; // an older answer arriving late
    list.textContent = "";
    data.wards.forEach(function (w) {
      var li = document.createElement("li");
      li.setAttribute("role", "option"); li.tabIndex = -1; li.textContent = w.name; li.dataset.id = w.id;
      li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(w.id, w.name); });
      li.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); choose(w.id, w.name); } });
      list.appendChild(li);
    });
    var note = document.createElement("li");
    note.className = "picker-note";
    note.textContent = data.matched ? (data.matched > data.wards.length
      ? "Đang hiện " + data.wards.length + "/" + data.matched + " đơn vị khớp: gõ thêm để thu hẹp."
      : data.matched + " đơn vị khớp.") : "Không có Phòng/xã, phường nào khớp.";
    list.appendChild(note);
    list.hidden = false; input.setAttribute("aria-expanded", "true");
  }

  function ask() {
    var seq = ++asked;
    fetch(box.dataset.source + "?q=" + encodeURIComponent(input.value.trim()), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) show(data, seq); });
  }

  input.addEventListener("input", function () {
    hidden.value = ""; // what is typed is a search until a ward is chosen: empty means every ward
    asked++; // answers to what was typed before are stale now
    clearTimeout(timer); timer = setTimeout(ask, 200);
  });
  input.addEventListener("focus", function () { if (!input.value) ask(); });
  input.addEventListener("keydown", function (e) {
    var first = list.querySelector("[role=option]");
    if (e.key === "ArrowDown" && first && !list.hidden) { e.preventDefault(); first.focus(); }
    if (e.key === "Escape") close();
  });
  list.addEventListener("keydown", function (e) {
    var at = document.activeElement;
    if (e.key === "ArrowDown" && at.nextElementSibling && at.nextElementSibling.dataset.id) { e.preventDefault(); at.nextElementSibling.focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (at.previousElementSibling || input).focus(); }
    if (e.key === "Escape") { close(); input.focus(); }
  });
  box.addEventListener("focusout", function (e) { if (!box.contains(e.relatedTarget)) close(); });
})();
