/*
 * directory.js: small enhancements of the directory search (the page works without them).
 *
 * - "Meinen Standort verwenden" fills latitude/longitude from the browser's geolocation and
 *   clears the municipality centre, so the two ways of giving a centre never clash.
 * - Choosing a municipality as centre clears a typed point, and vice versa.
 * - On the map view, the search radius is drawn as a circle around the centre.
 */
(function (window, document) {
  "use strict";

  function byId(id) {
    return document.getElementById(id);
  }

  function wireCentreFields() {
    const near = byId("f-near");
    const lat = byId("f-lat");
    const lon = byId("f-lon");
    if (!near || !lat || !lon) {
      return;
    }
    near.addEventListener("change", function () {
      if (near.value) {
        lat.value = "";
        lon.value = "";
      }
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("input", function () {
        if (input.value) {
          near.value = "";
        }
      });
    });
    const button = document.querySelector("[data-use-location]");
    if (button && "geolocation" in window.navigator) {
      button.hidden = false;
      button.addEventListener("click", function () {
        button.setAttribute("aria-busy", "true");
        window.navigator.geolocation.getCurrentPosition(
          function (position) {
            lat.value = position.coords.latitude.toFixed(5);
            lon.value = position.coords.longitude.toFixed(5);
            near.value = "";
            button.removeAttribute("aria-busy");
          },
          function () {
            button.removeAttribute("aria-busy");
          },
          { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 }
        );
      });
    }
  }

  function drawRadius() {
    const element = byId("directory-map");
    if (!element || !element.dataset.centre || !window.L) {
      return;
    }
    const map = element._networkMap;
    if (!map) {
      return;
    }
    const parts = element.dataset.centre.split(",").map(Number);
    const radiusKm = Number(element.dataset.radiusKm);
    if (parts.length !== 2 || !parts.every(Number.isFinite) || !Number.isFinite(radiusKm)) {
      return;
    }
    window.L.circle(parts, {
      radius: radiusKm * 1000,
      color: "#a8501a",
      weight: 2,
      dashArray: "6 4",
      fill: false,
      interactive: false,
    }).addTo(map);
  }

  function init() {
    wireCentreFields();
    // map.js initialises its maps on DOMContentLoaded before this deferred script runs.
    drawRadius();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})(window, document);
