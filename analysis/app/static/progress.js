// Progress bar of a running run: polls the JSON status and reloads the page when it ends.
(function () {
  "use strict";
  var box = document.getElementById("progress-box");
  if (!box || box.dataset.state !== "running") { return; }
  function poll() {
    fetch(box.dataset.status, {credentials: "same-origin"}).then(function (r) { return r.json(); })
      .then(function (s) {
        document.getElementById("progress").value = s.percent;
        document.getElementById("state").textContent = s.state + ": " + s.message;
        if (s.state !== "running") { window.location.reload(); } else { setTimeout(poll, 1000); }
      }).catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
}());
