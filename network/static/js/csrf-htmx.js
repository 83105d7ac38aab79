/*
 * csrf-htmx.js: send the CSRF token with every htmx request.
 *
 * Flask-WTF rejects state-changing requests without a token. Forms carry it in
 * a hidden field, but htmx also issues requests from buttons and links
 * (hx-post, hx-delete) that have no form, so the token travels as a header
 * instead. The base template renders it once:
 *
 *   <meta name="csrf-token" content="{{ csrf_token() }}">
 *
 * Load this file with `defer` after (or before) htmx.min.js; it listens on the
 * document, so the order does not matter and it does nothing on pages without
 * htmx or without the meta tag.
 */
(function () {
  "use strict";

  // Flask-WTF looks for this header name by default (WTF_CSRF_HEADERS).
  var HEADER = "X-CSRFToken";

  function currentToken() {
    // Read on every request rather than once at load time: htmx may swap the
    // <head> (hx-boost) or the session may rotate the token after login.
    var meta = document.querySelector('meta[name="csrf-token"]');
    var token = meta && meta.getAttribute("content");
    return token ? token : null;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event && event.detail;
    if (!detail || !detail.headers) {
      return;
    }
    var token = currentToken();
    if (token) {
      // htmx 2 refuses cross-origin requests by default (selfRequestsOnly), so
      // the token is never sent to a third party.
      detail.headers[HEADER] = token;
    }
  });
})();
