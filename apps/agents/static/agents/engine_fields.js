/* Shows only the chosen engine's "Engine properties" fieldset on the agent, template and provider settings
   forms. The server reads only the chosen engine's fields, so this is presentation: without it every fieldset
   stays visible and the form still saves correctly. */
"use strict";
(function () {
  function update(select) {
    var chosen = select.value;
    var fieldsets = document.querySelectorAll("fieldset.engine-fields");
    fieldsets.forEach(function (fieldset) {
      var show = chosen !== "" && fieldset.classList.contains("engine-" + chosen);
      fieldset.hidden = !show;
      fieldset.setAttribute("aria-hidden", show ? "false" : "true");
    });
    var hint = document.getElementById("engine-choose-hint");
    if (hint) {
      hint.hidden = chosen !== "";
    }
  }

  function init() {
    var select = document.querySelector("select[data-engine-select]");
    if (!select) {
      return;
    }
    update(select);
    select.addEventListener("change", function () {
      update(select);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
