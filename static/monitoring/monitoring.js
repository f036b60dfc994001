// Monitoring pages: the rule form shows only the fields of the chosen condition kind (each condition field names
// its kinds in data-kinds). Without this script every field shows and the server ignores the other kinds' values.
(function () {
  "use strict";

  function showKindFields(form) {
    var select = form.querySelector("[data-rule-kind]");
    if (!select) return;
    var kind = select.value;
    form.querySelectorAll("[data-kinds]").forEach(function (element) {
      var wrapper = element.closest(".mon-field") || element;
      var kinds = element.getAttribute("data-kinds").split(" ");
      wrapper.hidden = kinds.indexOf(kind) === -1;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("rule-form");
    if (!form) return;
    showKindFields(form);
    form.addEventListener("change", function (event) {
      if (event.target.matches("[data-rule-kind]")) showKindFields(form);
    });
  });
})();
