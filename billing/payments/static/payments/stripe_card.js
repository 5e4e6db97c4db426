/* Stripe's card field for saving a card: Stripe.js (loaded from js.stripe.com, allowed by this
 * page's CSP only) mounts a Card Element; on submit of the enclosing form we confirm the
 * SetupIntent created by the server and put only its id (seti_...) into the form. The card
 * number never touches our page's DOM or our server. */
(function () {
  "use strict";

  function setup(box) {
    var form = box.closest("form");
    var token = box.querySelector("[data-stripe-token]");
    var mount = box.querySelector("[data-stripe-element]");
    var errorBox = box.querySelector("#stripe-card-error");
    var errorText = box.querySelector("[data-stripe-error]");
    if (!form || !token || !mount) return;

    function showError(message) {
      errorText.textContent = message;
      errorBox.hidden = false;
    }
    if (typeof window.Stripe !== "function") {
      showError(box.dataset.msgOffline);
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      return;
    }
    var stripe = window.Stripe(box.dataset.publishableKey, { locale: box.dataset.locale || "auto" });
    var card = stripe.elements().create("card", { hidePostalCode: true });
    card.mount(mount);
    card.on("change", function (event) {
      if (event.error) showError(event.error.message);
      else errorBox.hidden = true;
    });

    var confirming = false;
    form.addEventListener("submit", function (event) {
      if (token.value) return;  // confirmed: let the form post the SetupIntent id
      event.preventDefault();
      if (confirming) return;
      confirming = true;
      stripe.confirmCardSetup(box.dataset.clientSecret, { payment_method: { card: card } })
        .then(function (result) {
          confirming = false;
          if (result.error || !result.setupIntent) {
            showError((result.error && result.error.message) || box.dataset.msgFailed);
            return;
          }
          token.value = result.setupIntent.id;
          form.requestSubmit ? form.requestSubmit() : form.submit();
        });
    });
  }

  function init() {
    document.querySelectorAll("[data-stripe-card]").forEach(setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
