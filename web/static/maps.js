// Light up both ends of a sister pair (and its line in the list) on hover or keyboard focus.
(function () {
  "use strict";
  function set(pair, on) {
    document.querySelectorAll('[data-pair="' + pair + '"]').forEach(function (el) {
      el.classList.toggle("lit", on);
    });
  }
  document.querySelectorAll("[data-pair]").forEach(function (el) {
    var pair = el.getAttribute("data-pair");
    el.addEventListener("mouseenter", function () { set(pair, true); });
    el.addEventListener("mouseleave", function () { set(pair, false); });
    el.addEventListener("focusin", function () { set(pair, true); });
    el.addEventListener("focusout", function () { set(pair, false); });
  });
})();
