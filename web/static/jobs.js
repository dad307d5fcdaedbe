// Follow a background job on the page that queued it: each element with data-job-url is
// polled once a second until its job is done or failed. Without JavaScript, the
// element's link leads to /jobs, which refreshes itself.
(function () {
  document.querySelectorAll("[data-job-url]").forEach(function (el) {
    var text = el.querySelector(".job-line") || el;
    function poll() {
      fetch(el.dataset.jobUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) {
          if (!job) { setTimeout(poll, 3000); return; }
          el.dataset.status = job.status;
          if (job.status === "done") text.textContent = el.dataset.doneText || "done";
          else if (job.status === "failed") text.textContent = "failed: " + job.error;
          else if (job.status === "running") text.textContent = (el.dataset.runningText || job.title) + " — " + job.line;
          if (!job.finished) setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    poll();
  });
})();
