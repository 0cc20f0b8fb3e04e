/*
 * Catalog page, progressive enhancement only: everything works without it.
 * - a changed filter or sort submits the filter form at once (no "Apply" click), except inside
 *   the collapsed "Filters" panel on phones, where people tick several and press "Apply";
 * - empty fields stay out of the address;
 * - "Add to compare" allows at most data-max listings, says how many are ticked, and opens the
 *   comparison with its columns in the order they were ticked (without script: page order).
 */
(function () {
  "use strict";

  var form = document.querySelector("[data-catalog-form]");
  var filters = document.querySelector("[data-filters]");
  // Browsers without ::details-content keep the toggle on desktop: open it there.
  if (filters && window.matchMedia("(min-width: 60rem)").matches) filters.open = true;
  if (form) {
    form.querySelectorAll("[data-js-hide]").forEach(function (el) { el.remove(); });
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (!target.matches("[data-autosubmit]") || target.form !== form) return;
      var panel = target.closest("[data-filters]");
      var toggle = panel && panel.querySelector("summary");
      if (toggle && getComputedStyle(toggle).display !== "none") return;
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    });
    // Leave empty fields out of the address: ?q=&deploy= says nothing.
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (field) {
        var empty = field.value === "" || (field.name === "sort" && field.value === "relevance");
        if (empty && field.form === form) field.disabled = true;
      });
    });
    window.addEventListener("pageshow", function () {
      form.querySelectorAll("input:not([data-compare]), select").forEach(function (field) {
        field.disabled = false;
      });
    });
  }

  var compare = document.querySelector("[data-compare-form]");
  if (!compare) return;
  var max = parseInt(compare.getAttribute("data-max"), 10) || 4;
  var status = compare.querySelector("[data-compare-status]");
  var button = compare.querySelector("button[type=submit]");
  var initial = status ? status.textContent : "";
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-compare]"));

  function format(template, count) {
    return template.replace("%(count)s", count).replace("%(max)s", max);
  }

  function update() {
    var count = boxes.filter(function (box) { return box.checked; }).length;
    boxes.forEach(function (box) { box.disabled = !box.checked && count >= max; });
    compare.classList.toggle("compare-bar--active", count > 0);
    compare.classList.toggle("compare-bar--idle", count === 0);
    if (button) button.disabled = count < 2;
    if (!status) return;
    if (count === 0) {
      status.textContent = initial;
    } else if (count >= max) {
      status.textContent = format(compare.getAttribute("data-msg-full"), count);
    } else {
      status.textContent = format(compare.getAttribute("data-msg-some"), count);
    }
  }

  // Slugs in the order they were ticked; boxes ticked before the script ran come first.
  var ticked = boxes.filter(function (box) { return box.checked; }).map(function (box) {
    return box.value;
  });

  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      ticked = ticked.filter(function (slug) { return slug !== box.value; });
      if (box.checked) ticked.push(box.value);
      update();
    });
  });
  compare.addEventListener("submit", function (event) {
    if (ticked.length < 2) return;
    event.preventDefault();
    var params = new URLSearchParams();
    ticked.forEach(function (slug) { params.append("slugs", slug); });
    window.location.assign(compare.getAttribute("action") + "?" + params.toString());
  });
  update();
})();
