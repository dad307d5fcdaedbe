// Fill the placement field's <datalist> from the gazetteer as the alum types.
// Without JavaScript the field still works: the server resolves what was typed.
(function () {
  var input = document.getElementById("place");
  var list = document.getElementById("place-options");
  if (!input || !list) return;
  var timer = null;
  var preview = document.getElementById("place-preview");
  // Say what the text resolves to before it is saved: "Ishidoriya — merged into Hanamaki on 2006-01-01".
  function showResolution(q) {
    if (!preview || !input.dataset.resolve) return;
    fetch(input.dataset.resolve + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (found) { if (found) preview.textContent = found.message; });
  }
  input.addEventListener("change", function () { showResolution(input.value.trim()); });
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2) return;
    timer = setTimeout(function () {
      showResolution(q);
      fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) {
          list.replaceChildren();
          items.forEach(function (item) {
            var option = document.createElement("option");
            option.value = item.value;
            option.label = item.label;
            option.textContent = item.label;
            list.appendChild(option);
          });
        });
    }, 150);
  });
})();
