/* The element form: show only the fields that apply to the chosen chart type and period. Without JavaScript all
   of the kind's fields show, and the server ignores the ones that do not apply. */
(function () {
  "use strict";

  var CHART_FIELDS = { line: ["measure", "interval", "split"], bar: ["measure", "interval", "split"], doughnut: ["measure", "category"] };

  function toggle(form) {
    var chart = form.querySelector("[name=chart_type]");
    var period = form.querySelector("[name=period]");
    form.querySelectorAll("[data-field]").forEach(function (box) {
      var name = box.dataset.field;
      var hidden = false;
      if (chart && ["measure", "interval", "split", "category"].indexOf(name) >= 0) {
        hidden = (CHART_FIELDS[chart.value] || []).indexOf(name) < 0;
      }
      if (name === "start_date" || name === "end_date") { hidden = period.value !== "custom"; }
      box.hidden = hidden;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("element-form");
    if (!form) { return; }
    form.addEventListener("change", function () { toggle(form); });
    toggle(form);
  });
})();
