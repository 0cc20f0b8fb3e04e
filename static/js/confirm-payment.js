// The payment confirmation of /billing/invoices/<id>/confirm-payment/: Stripe.js runs the
// bank's 3-D Secure step for the waiting PaymentIntent, then the form posts, and Precis reads
// the outcome from Stripe (nothing the browser says is trusted).
(function () {
  "use strict";
  var form = document.getElementById("confirm-payment-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  var stripe = Stripe(form.dataset.publishableKey);
  var errors = document.getElementById("confirm-errors");
  var button = form.querySelector("button[type=submit]");
  var done = false;
  form.addEventListener("submit", function (event) {
    if (done) {
      return; // Stripe.js has finished: let the form post
    }
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    // An intent waiting for its action is authenticated as it is; one whose off-session
    // attempt was declined is confirmed again with its card, on-session this time.
    var data =
      form.dataset.intentStatus === "requires_payment_method" && form.dataset.paymentMethod
        ? { payment_method: form.dataset.paymentMethod }
        : undefined;
    stripe.confirmCardPayment(form.dataset.clientSecret, data).then(function (result) {
      if (result.error) {
        errors.textContent = result.error.message || "";
      }
      done = true;
      form.submit();
    });
  });
})();
