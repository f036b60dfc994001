"use strict";
// The "Copy secret" button of the one-time secret page (a file, not an inline script: the
// Content-Security-Policy refuses inline scripts).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("copy-secret");
  if (!button) {
    return;
  }
  button.addEventListener("click", function () {
    var field = document.getElementById(button.dataset.copy);
    var status = document.getElementById("copy-status");
    function copied() { status.textContent = "Copied."; }
    function fallback() { field.select(); document.execCommand("copy"); copied(); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(copied, fallback);
    } else {
      fallback();
    }
  });
});
