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

  // Top bar dropdowns (<details>): one open at a time, closed by a click elsewhere or Escape.
  var menus = document.querySelectorAll("details.navmenu");
  document.addEventListener("click", function (event) {
    menus.forEach(function (menu) {
      if (menu.open && !menu.contains(event.target)) { menu.open = false; }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    menus.forEach(function (menu) {
      if (menu.open) { menu.open = false; menu.querySelector("summary").focus(); }
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
    // "all matching the filter" is offered only when the whole page is ticked; choosing it ticks the page, and
    // unticking any row withdraws it, so the counter always says what the button will change.
    var refresh = function (event) {
      if (event && event.target === selectAll && selectAll.checked) {
        checks.forEach(function (c) { c.checked = true; });
      }
      var chosen = Array.prototype.filter.call(checks, function (c) { return c.checked; });
      var wholePage = checks.length > 0 && chosen.length === checks.length;
      allMatching.hidden = !wholePage;
      if (!wholePage) { selectAll.checked = false; }
      pageCheck.checked = wholePage;
      ids.value = chosen.map(function (c) { return c.value; }).join(",");
      counter.textContent = selectAll.checked
        ? "Zaznaczono: wszystkie pasujące do filtra (" + allMatching.getAttribute("data-count") + ")"
        : "Zaznaczono: " + chosen.length;
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
  var latest = 0;  // answers may arrive out of order: only the newest request's answer is shown
  var update = function () {
    var mine = ++latest;
    var params = new URLSearchParams({
      number_format: form.elements.number_format.value,
      reset: form.elements.reset.value,
      start_number: form.elements.start_number.value,
      series: form.dataset.series || ""
    });
    fetch(form.dataset.previewUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === latest) { out.textContent = data.ok ? data.number : data.message; } });
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

// Packing station: a keyboard-wedge scanner types fast and ends with Enter; typing by hand works the same.
(function () {
  "use strict";
  var box = document.getElementById("packing");
  if (!box) { return; }
  var input = document.getElementById("scan-input");
  var message = document.getElementById("scan-message");
  var csrf = box.querySelector("input[name=csrfmiddlewaretoken]").value;
  var beep = function () {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = 220; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio device */ }
  };
  var render = function (data) {
    message.textContent = data.message;
    message.className = "scan-message " + (data.ok ? "success" : "error");
    if (!data.ok) { beep(); }
    var order = data.order;
    var section = document.getElementById("packing-order");
    if (!order || data.done) {
      if (data.done) { section.hidden = true; }
      return;
    }
    section.hidden = false;
    document.getElementById("packing-title").textContent = "Zamówienie " + order.number;
    var body = document.getElementById("packing-items");
    body.textContent = "";
    order.items.forEach(function (item) {
      var row = document.createElement("tr");
      row.setAttribute("data-item", item.id);
      if (item.counted >= item.quantity) { row.className = "complete"; }
      [item.name, item.ean, item.counted + " / " + item.quantity].forEach(function (text, i) {
        var cell = document.createElement("td");
        cell.textContent = text;
        if (i === 2) { cell.className = "num"; }
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
  };
  // Scans are sent one after another: the count lives in the session, and two scans in flight at once
  // (a fast scanner) would overwrite each other's count.
  var queue = Promise.resolve();
  var send = function (fields) {
    queue = queue.then(function () {
      return fetch(box.getAttribute("data-scan-url"), {
        method: "POST", credentials: "same-origin", body: new URLSearchParams(fields),
        headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (r) { return r.json(); }).then(render);
    }).catch(function () {
      message.textContent = "Brak połączenia z serwerem — zeskanuj ponownie.";
      message.className = "scan-message error";
    });
    return queue;
  };
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") { return; }
    event.preventDefault();
    var code = input.value.trim();
    input.value = "";
    if (code) { send({ code: code }); }
  });
  document.getElementById("packing-reset").addEventListener("click", function () {
    send({ reset: "1" }).then(function () { document.getElementById("packing-order").hidden = true; });
    input.focus();
  });
  document.addEventListener("click", function () { input.focus(); });
})();
