/*
 * toolbox.js: the "copy link" button of campaign pages. Without JavaScript the
 * button stays hidden and the read-only field can be copied by hand.
 */
(function (document, navigator) {
  "use strict";

  function init() {
    document.querySelectorAll("[data-copy-button]").forEach(function (button) {
      const field = document.getElementById(button.getAttribute("data-copy-button"));
      if (!field || !navigator.clipboard) {
        return;
      }
      const label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(
          function () {
            button.textContent = button.getAttribute("data-copied-text") || label;
            window.setTimeout(function () {
              button.textContent = label;
            }, 2000);
          },
          function () {
            field.select();
          }
        );
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})(document, navigator);
