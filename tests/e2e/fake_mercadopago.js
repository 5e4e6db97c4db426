/* A fake of the part of MercadoPago.js v2 (https://sdk.mercadopago.com/js/v2) that our card
 * page uses, served by Playwright in place of the real SDK (tests/e2e/test_mercadopago_card.py).
 * Like the real Secure Fields, the mounted inputs have no name; the token request goes to
 * api.mercadopago.com with the public key (Playwright hands it to the local Mercado Pago fake).
 * Unlike them, the inputs live in our page, not in Mercado Pago's iframes. */
(function () {
  "use strict";
  window.__fakeMercadoPago = { instances: [], fields: [] };
  window.MercadoPago = function (publicKey, options) {
    var inputs = {};
    window.__fakeMercadoPago.instances.push({ publicKey: publicKey, locale: options && options.locale });
    this.fields = {
      create: function (type, opts) {
        var handlers = {};
        window.__fakeMercadoPago.fields.push(type);
        return {
          mount: function (id) {
            var input = document.createElement("input");
            input.type = "text";
            input.setAttribute("inputmode", "numeric");
            input.setAttribute("aria-label", opts.srLabel || type);
            input.placeholder = opts.placeholder || "";
            // Like the real iframe: fills its container and brings no border of its own.
            input.style.cssText = "border:0;padding:0;margin:0;min-height:0;width:100%;" +
              "box-sizing:border-box;background:transparent;font:inherit;outline:none";
            input.addEventListener("blur", function () {
              var ok = input.value.replace(/\D/g, "").length > 0;
              if (handlers.validityChange) handlers.validityChange({
                field: type, errorMessages: ok ? [] : [{ message: type + " is empty", cause: "invalid_length" }]
              });
            });
            input.addEventListener("input", function () {
              var digits = input.value.replace(/\D/g, "");
              if (type === "cardNumber" && handlers.binChange) handlers.binChange({ field: type, bin: digits.length >= 8 ? digits.slice(0, 8) : null });
            });
            document.getElementById(id).appendChild(input);
            inputs[type] = input;
            return this;
          },
          on: function (event, callback) { handlers[event] = callback; return this; },
          update: function () { return this; }
        };
      },
      createCardToken: function (data) {
        var expiry = (inputs.expirationDate.value || "").split("/");
        var body = {
          card_number: inputs.cardNumber.value.replace(/\D/g, ""),
          security_code: inputs.securityCode.value,
          expiration_month: parseInt(expiry[0], 10),
          expiration_year: 2000 + parseInt(expiry[1], 10),
          cardholder: { name: data.cardholderName,
                        identification: { type: data.identificationType, number: data.identificationNumber } }
        };
        return fetch("https://api.mercadopago.com/v1/card_tokens?public_key=" + encodeURIComponent(publicKey), {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
        }).then(function (answer) {
          return answer.json().then(function (json) { return answer.ok ? json : Promise.reject(json); });
        });
      }
    };
    this.getIdentificationTypes = function () {
      return Promise.resolve([{ id: "RUT", name: "RUT" }, { id: "Otro", name: "Otro" }]);
    };
    this.getPaymentMethods = function () {
      return Promise.resolve({ results: [{ id: "visa", settings: [{ security_code: { mode: "mandatory", length: 3 }, card_number: { length: 16, validation: "standard" } }] }] });
    };
  };
})();
