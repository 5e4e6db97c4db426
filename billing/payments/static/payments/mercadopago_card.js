/* Mercado Pago's card fields for saving a card: MercadoPago.js v2 (loaded from
 * sdk.mercadopago.com, allowed by this page's CSP only) mounts its Secure Fields (card number,
 * expiry, security code), each in Mercado Pago's own iframe, with the organization's public
 * key. On submit of the enclosing form we ask MercadoPago.js for a card token
 * (mp.fields.createCardToken) and put only its id into the form; the cardholder name and
 * document go to Mercado Pago with the token request, not to our server (their inputs have
 * no name). The card number never touches our page's DOM or our server. */
(function () {
  "use strict";

  function setup(box) {
    var form = box.closest("form");
    var token = box.querySelector("[data-mp-token]");
    var holder = box.querySelector("[data-mp-cardholder]");
    var idBox = box.querySelector("[data-mp-identification]");
    var idType = box.querySelector("[data-mp-identification-type]");
    var idNumber = box.querySelector("[data-mp-identification-number]");
    var errorBox = box.querySelector("#mp-card-error");
    var errorText = box.querySelector("[data-mp-error]");
    if (!form || !token) return;

    function showError(message) {
      errorText.textContent = message;
      errorBox.hidden = false;
    }
    function clearError() {
      errorBox.hidden = true;
    }
    if (typeof window.MercadoPago !== "function") {
      showError(box.dataset.msgOffline);
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      return;
    }

    var mp = new window.MercadoPago(box.dataset.publicKey, { locale: box.dataset.locale });
    var specs = {
      cardNumber: { container: "mp-card-number", label: box.dataset.labelNumber, placeholder: "•••• •••• •••• ••••" },
      expirationDate: { container: "mp-expiration-date", label: box.dataset.labelExpiry, placeholder: box.dataset.placeholderExpiry },
      securityCode: { container: "mp-security-code", label: box.dataset.labelSecurityCode, placeholder: "123" }
    };
    var fields = {};
    // Only what Mercado Pago reported invalid; empty fields are refused by createCardToken.
    var invalid = { cardNumber: false, expirationDate: false, securityCode: false };
    Object.keys(specs).forEach(function (name) {
      var spec = specs[name];
      var container = document.getElementById(spec.container);
      var field = mp.fields.create(name, { placeholder: spec.placeholder, srLabel: spec.label, ariaRequired: true });
      field.mount(spec.container);
      field.on("validityChange", function (event) {
        var bad = !!(event && event.errorMessages && event.errorMessages.length);
        invalid[name] = bad;
        container.setAttribute("aria-invalid", bad ? "true" : "false");
        if (!bad) clearError();
      });
      field.on("focus", function () { container.classList.add("is-focused"); });
      field.on("blur", function () { container.classList.remove("is-focused"); });
      fields[name] = field;
    });

    // The security code's length depends on the card brand (4 digits for Amex): ask Mercado
    // Pago which payment method the first digits belong to, as its documentation does.
    fields.cardNumber.on("binChange", function (event) {
      if (!event || !event.bin || typeof mp.getPaymentMethods !== "function") return;
      mp.getPaymentMethods({ bin: event.bin }).then(function (answer) {
        var method = answer && answer.results && answer.results[0];
        var settings = method && method.settings && method.settings[0];
        if (!settings) return;
        if (settings.security_code) {
          fields.securityCode.update({ settings: settings.security_code });
        }
        if (settings.card_number) {
          fields.cardNumber.update({ settings: settings.card_number });
        }
      }).catch(function () { /* keep the defaults; the token request validates anyway */ });
    });

    // Document types of the account's country (Mercado Pago asks for one in most countries).
    if (idBox && typeof mp.getIdentificationTypes === "function") {
      mp.getIdentificationTypes().then(function (types) {
        if (!types || !types.length) return;
        types.forEach(function (type) {
          var option = document.createElement("option");
          option.value = type.id;
          option.textContent = type.name;
          idType.appendChild(option);
        });
        idBox.hidden = false;
      }).catch(function () { /* optional: the token can be made without it where allowed */ });
    }

    var busy = false;
    form.addEventListener("submit", function (event) {
      if (token.value) return;  // tokenized: let the form post the token
      event.preventDefault();
      if (busy) return;
      clearError();
      if (!holder.value.trim()) {
        showError(box.dataset.msgHolder);
        holder.focus();
        return;
      }
      if (invalid.cardNumber || invalid.expirationDate || invalid.securityCode) {
        showError(box.dataset.msgIncomplete);
        return;
      }
      var data = { cardholderName: holder.value.trim() };
      if (idBox && !idBox.hidden && idNumber.value.trim()) {
        data.identificationType = idType.value;
        data.identificationNumber = idNumber.value.trim();
      }
      busy = true;
      mp.fields.createCardToken(data).then(function (result) {
        busy = false;
        if (!result || !result.id) {
          showError(box.dataset.msgFailed);
          return;
        }
        token.value = result.id;
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }).catch(function () {
        busy = false;
        showError(box.dataset.msgFailed);
      });
    });
  }

  function init() {
    document.querySelectorAll("[data-mercadopago-card]").forEach(setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
