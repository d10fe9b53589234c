// Progressive enhancement only: every page works without it.
(function () {
  "use strict";
  // Status colours come as data attributes (CSP forbids inline styles in markup).
  document.querySelectorAll("[data-colour]").forEach(function (el) {
    el.style.setProperty("--c", el.getAttribute("data-colour"));
  });

  // Confirm before consequential actions.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // A form is submitted once: its submit buttons are disabled while the request is in flight.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitting === "1") { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(function (f) {
      delete f.dataset.submitting;
      f.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    });
  });

  // Order list: row selection for the bulk status change.
  var bulk = document.getElementById("bulk-form");
  if (bulk) {
    var checks = bulk.querySelectorAll(".row-check");
    var pageCheck = document.getElementById("check-page");
    var counter = document.getElementById("bulk-selected");
    var allMatching = document.getElementById("select-all-matching");
    var selectAll = document.getElementById("bulk-select-all");
    var ids = document.getElementById("bulk-ids");
    var refresh = function () {
      var chosen = Array.prototype.filter.call(checks, function (c) { return c.checked; });
      ids.value = chosen.map(function (c) { return c.value; }).join(",");
      counter.textContent = selectAll.checked ? "Zaznaczono: wszystkie pasujące" : "Zaznaczono: " + chosen.length;
      allMatching.hidden = chosen.length !== checks.length;
      if (allMatching.hidden) { selectAll.checked = false; }
    };
    pageCheck.addEventListener("change", function () {
      checks.forEach(function (c) { c.checked = pageCheck.checked; });
      refresh();
    });
    checks.forEach(function (c) { c.addEventListener("change", refresh); });
    selectAll.addEventListener("change", refresh);
    refresh();
  }
})();

// Series form: live preview of the next number.
(function () {
  "use strict";
  var form = document.getElementById("series-form");
  if (!form) { return; }
  var out = document.getElementById("number-preview");
  var update = function () {
    var params = new URLSearchParams({
      number_format: form.elements.number_format.value,
      reset: form.elements.reset.value,
      start_number: form.elements.start_number.value,
      series: form.dataset.series || ""
    });
    fetch(form.dataset.previewUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { out.textContent = data.ok ? data.number : data.message; });
  };
  ["number_format", "reset", "start_number"].forEach(function (name) {
    form.elements[name].addEventListener("input", update);
  });
  update();
})();

// Document preview: while an accounting service is numbering the document, poll its state and reload on change.
(function () {
  "use strict";
  var box = document.querySelector("[data-poll]");
  if (!box) { return; }
  var url = box.getAttribute("data-poll");
  var delay = 1000;
  var poll = function () {
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.state !== "issuing") { window.location.reload(); return; }
        delay = Math.min(delay * 1.5, 10000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  };
  window.setTimeout(poll, delay);
})();

// Bulk status change: progress of the automatic tasks, refreshed until nothing waits.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress]");
  if (!box) { return; }
  var poll = function () {
    fetch(box.getAttribute("data-progress"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        document.getElementById("bulk-waiting").textContent = data.waiting;
        document.getElementById("bulk-done").textContent = data.done;
        document.getElementById("bulk-failed").textContent = data.failed;
        document.getElementById("bulk-bar").value = data.done + data.failed;
        if (data.waiting > 0) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  };
  window.setTimeout(poll, 500);
})();
