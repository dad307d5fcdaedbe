// Fill the placement field's <datalist> from the gazetteer as the alum types.
// Without JavaScript the field still works: the server resolves what was typed.
(function () {
  var input = document.getElementById("place");
  var list = document.getElementById("place-options");
  if (!input || !list) return;
  var timer = null;
  var preview = document.getElementById("place-preview");
  // Answers can come back out of order (the one for "Ishidor" after the one for
  // "Ishidoriya, Iwate"): each kind of request keeps a number and only the latest one's
  // answer is shown.
  var latest = {resolve: 0, suggest: 0};
  function fetchLatest(kind, url, fallback) {
    var ticket = ++latest[kind];
    return fetch(url, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : fallback; })
      .then(function (body) {
        if (ticket !== latest[kind]) throw {stale: true};
        return body;
      });
  }
  function ignoreStale(err) { if (!err || !err.stale) throw err; }
  // Say what the text resolves to before it is saved: "Ishidoriya — merged into Hanamaki on 2006-01-01".
  function showResolution(q) {
    if (!preview || !input.dataset.resolve) return;
    fetchLatest("resolve", input.dataset.resolve + "?q=" + encodeURIComponent(q), null)
      .then(function (found) { if (found) preview.textContent = found.message; })
      .catch(ignoreStale);
  }
  input.addEventListener("change", function () { showResolution(input.value.trim()); });
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2) return;
    timer = setTimeout(function () {
      showResolution(q);
      fetchLatest("suggest", input.dataset.suggest + "?q=" + encodeURIComponent(q), [])
        .then(function (items) {
          list.replaceChildren();
          items.forEach(function (item) {
            var option = document.createElement("option");
            option.value = item.value;
            option.label = item.label;
            option.textContent = item.label;
            list.appendChild(option);
          });
        })
        .catch(ignoreStale);
    }, 150);
  });
})();
