/* Checkout pages: show the fields of the chosen payment method, keep the card field out of
 * the way when another method is chosen or a discount code is being applied, and avoid a
 * double click sending the form twice (the server is safe either way: the form carries an
 * idempotency token). */
(function () {
  "use strict";

  function chosen(form) {
    var radio = form.querySelector('input[name="payment_choice"]:checked');
    return radio ? radio.value : "card";
  }

  function sync(form) {
    var value = chosen(form);
    form.querySelectorAll("[data-method]").forEach(function (box) {
      box.hidden = box.dataset.method !== value;
    });
  }

  // Capture phase on the document runs before the card field's own submit handler on the
  // form: when the card is not being used, stop the event before it reaches that handler
  // (the form still submits normally).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-checkout-form]")) return;
    var submitter = event.submitter;
    var applying = submitter && submitter.name === "apply_coupon";
    var hasChoice = form.querySelector('input[name="payment_choice"]');
    if (applying) {
      event.stopPropagation();
      return;
    }
    if (hasChoice && chosen(form) !== "card") {
      event.stopPropagation();
      markSent(form, event);
    }
  }, true);

  function markSent(form, event) {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    var button = form.querySelector("[data-subscribe]");
    if (button) {
      window.setTimeout(function () { button.setAttribute("aria-busy", "true"); button.disabled = true; }, 0);
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-checkout-form]") || event.defaultPrevented) return;
    if (event.submitter && event.submitter.name === "apply_coupon") return;
    markSent(form, event);
  });

  document.querySelectorAll("[data-checkout-form]").forEach(function (form) {
    form.addEventListener("change", function (event) {
      if (event.target.name === "payment_choice") sync(form);
    });
    sync(form);
  });
})();
