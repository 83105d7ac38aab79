/*
 * positions.js: small helpers of the positions pages (no inline script under the CSP).
 *
 * Application form: an attachment that is too large or of the wrong type is refused in the
 * browser before upload, so the typed message is never lost to a refused request. The server
 * checks again (extension and content) – this is only a convenience.
 *   <input type="file" data-max-bytes="5242880" data-too-large="…" data-wrong-type="…"
 *          aria-describedby="… attachment-error">
 *   <p class="error" id="attachment-error" hidden aria-live="polite"></p>
 */
(function (document) {
  "use strict";

  var ALLOWED = [".pdf", ".docx", ".odt"];

  function errorElement(input) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/);
    for (var i = 0; i < ids.length; i += 1) {
      var node = ids[i] && document.getElementById(ids[i]);
      if (node && node.classList.contains("error")) {
        return node;
      }
    }
    return null;
  }

  function problemOf(input) {
    var file = input.files && input.files[0];
    if (!file) {
      return "";
    }
    var name = file.name.toLowerCase();
    var allowed = ALLOWED.some(function (ext) {
      return name.slice(-ext.length) === ext;
    });
    if (!allowed) {
      return input.dataset.wrongType || "";
    }
    var limit = parseInt(input.dataset.maxBytes || "0", 10);
    if (limit && file.size > limit) {
      return input.dataset.tooLarge || "";
    }
    return "";
  }

  function check(input) {
    var problem = problemOf(input);
    var error = errorElement(input);
    var field = input.closest(".field");
    if (problem) {
      input.value = "";
      input.setAttribute("aria-invalid", "true");
      if (field) {
        field.classList.add("has-error");
      }
      if (error) {
        error.textContent = problem;
        error.hidden = false;
      }
      return false;
    }
    input.removeAttribute("aria-invalid");
    if (field) {
      field.classList.remove("has-error");
    }
    if (error) {
      error.textContent = "";
      error.hidden = true;
    }
    return true;
  }

  function init() {
    var inputs = document.querySelectorAll("input[type=file][data-max-bytes]");
    Array.prototype.forEach.call(inputs, function (input) {
      input.addEventListener("change", function () {
        check(input);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})(document);
