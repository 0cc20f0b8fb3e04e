/*
 * Copy buttons, progressive enhancement only: without script the buttons stay hidden and the
 * key sits in a readonly field that can be selected by hand (a tap selects it all).
 * - <button data-copy="ID" data-copy-status="ID" data-copied="..." data-copy-failed="...">
 *   copies the value (a field) or the text (anything else) of the element with that id, and
 *   says what happened in the status element (a role="status" region, read out by screen
 *   readers);
 * - an <input data-select-on-focus> selects its whole value when focused.
 */
(function () {
  "use strict";

  function textOf(source) {
    return "value" in source && source.tagName !== "BUTTON" ? source.value : source.textContent;
  }

  function select(source) {
    if (typeof source.select === "function") {
      source.focus();
      source.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // The older way, for browsers without the asynchronous clipboard (or pages not served over
  // HTTPS): copy the selection.
  function copyBySelection(source) {
    select(source);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function copy(source) {
    var text = textOf(source);
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        if (!copyBySelection(source)) throw new Error("copy failed");
      });
    }
    return copyBySelection(source) ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(source).then(
        function () {
          if (status) status.textContent = button.getAttribute("data-copied");
        },
        function () {
          select(source);
          if (status) status.textContent = button.getAttribute("data-copy-failed");
        }
      );
    });
  });

  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
    // A tap on a phone focuses, then places the caret: select again after it.
    input.addEventListener("click", function () { input.select(); });
  });
})();
