/*
 * Plan editor, progressive enhancement only: everything works without it.
 * - "Add a metered charge" / "Add an outcome charge" append a copy of the formset's empty row;
 * - "Add a tier" appends an empty tier row under its charge;
 * - the currency shown next to amounts follows the currency chosen.
 * Which fields a pricing model or an outcome method needs is shown by CSS (:has), not here.
 */
(function () {
  "use strict";

  var form = document.querySelector("[data-plan-editor]");
  if (!form) return;

  function totalInput(prefix) {
    return form.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
  }

  function clearRow(row) {
    row.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (field) {
      if (field.type === "checkbox" || field.type === "radio") field.checked = false;
      else if (field.tagName === "SELECT") field.selectedIndex = 0;
      else field.value = "";
      field.removeAttribute("aria-invalid");
    });
    row.querySelectorAll(".field__errors").forEach(function (list) { list.remove(); });
    row.querySelectorAll(".field--invalid").forEach(function (field) {
      field.classList.remove("field--invalid");
    });
  }

  function addCharge(kind) {
    var template = form.querySelector('template[data-empty-charge="' + kind + '"]');
    var list = form.querySelector('[data-charges="' + kind + '"]');
    var total = totalInput(kind);
    if (!template || !list || !total) return;
    var index = parseInt(total.value, 10);
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var row = holder.firstElementChild;
    list.appendChild(row);
    total.value = String(index + 1);
    showButtons(row);
    showCurrency(row);
    var first = row.querySelector("select, input:not([type=hidden])");
    if (first) first.focus();
  }

  function addTier(block) {
    var rows = block.querySelectorAll("[data-tier]");
    var last = rows[rows.length - 1];
    var total = block.querySelector('input[name$="-TOTAL_FORMS"]');
    if (!last || !total) return;
    var index = parseInt(total.value, 10);
    var copy = last.cloneNode(true);
    var pattern = /-tier-\d+-/g;
    var replacement = "-tier-" + index + "-";
    copy.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
      ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) el.setAttribute(attr, value.replace(pattern, replacement));
      });
    });
    copy.querySelectorAll("label").forEach(function (label) {
      label.textContent = label.textContent.replace(/\d+/, String(index + 1));
    });
    clearRow(copy);
    last.after(copy);
    total.value = String(index + 1);
    var first = copy.querySelector("input");
    if (first) first.focus();
  }

  function showButtons(root) {
    root.querySelectorAll("[data-add-charge], [data-add-tier]").forEach(function (button) {
      button.hidden = false;
    });
  }

  showButtons(form);

  form.addEventListener("click", function (event) {
    var charge = event.target.closest("[data-add-charge]");
    if (charge) {
      addCharge(charge.getAttribute("data-add-charge"));
      return;
    }
    var tier = event.target.closest("[data-add-tier]");
    if (tier) addTier(tier.closest("[data-tiers]"));
  });

  var currency = form.querySelector('select[name="currency"]');

  function showCurrency(root) {
    if (!currency) return;
    root.querySelectorAll("[data-currency]").forEach(function (label) {
      label.textContent = currency.value;
    });
  }

  if (currency) {
    currency.addEventListener("change", function () { showCurrency(form); });
  }
})();
