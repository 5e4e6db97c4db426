/* The sandbox gateway's hosted card field (what a provider's JS would do in the browser):
 * on submit of the enclosing form, turn the typed test-card number into a token
 * (tok_sandbox_<behaviour>, as billing.gateways.sandbox.sandbox_tokenize does) and put only the
 * token into the form. The number input has no name, so the number is never submitted.
 * Unknown numbers are refused here with a message; nothing is posted. */
(function () {
  "use strict";

  function tokens() {
    var el = document.getElementById("sandbox-card-tokens");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }

  function setup(box) {
    var form = box.closest("form");
    var number = box.querySelector("[data-sandbox-number]");
    var token = box.querySelector("[data-sandbox-token]");
    var errorBox = box.querySelector("#sandbox-card-error");
    var errorText = box.querySelector("[data-sandbox-error]");
    if (!form || !number || !token) return;
    var known = tokens();

    function showError(message) {
      errorText.textContent = message;
      errorBox.hidden = false;
      number.setAttribute("aria-invalid", "true");
      number.focus();
    }
    function clearError() {
      errorBox.hidden = true;
      number.removeAttribute("aria-invalid");
    }

    number.addEventListener("input", function () {
      // Group digits by four as the user types; keep the caret usable for deletions.
      var digits = number.value.replace(/\D/g, "").slice(0, 19);
      var grouped = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
      if (grouped !== number.value) number.value = grouped;
      token.value = "";
      clearError();
    });

    form.addEventListener("submit", function (event) {
      var digits = number.value.replace(/\D/g, "");
      if (!digits) {
        event.preventDefault();
        showError(box.dataset.msgEmpty);
        return;
      }
      var tok = known[digits];
      if (!tok) {
        event.preventDefault();
        token.value = "";
        showError(box.dataset.msgUnknown);
        return;
      }
      token.value = tok;
      number.value = "";  // nothing card-like stays in the page once it is posted
    });
  }

  function init() {
    document.querySelectorAll("[data-sandbox-card]").forEach(setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
