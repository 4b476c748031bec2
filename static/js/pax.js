/* PAX: start the ECL components. No inline script is allowed by the CSP, so this file is the
   only place page behaviour starts. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("has-js");

  /* On large screens pax.css aligns the login box to the right edge of its toggle; put the
     box's arrow under the middle of the toggle, whatever the length of the user's name. */
  function placeLoginArrow() {
    var toggle = document.querySelector("[data-ecl-login-toggle]");
    var box = document.querySelector("[data-ecl-login-box]");
    if (!toggle || !box) {
      return;
    }
    var arrow = parseFloat(window.getComputedStyle(box, "::before").width) || 16;
    box.style.setProperty("--pax-login-arrow", (toggle.offsetWidth / 2 - arrow / 2) + "px");
  }

  /* Escape closes the open login box and gives focus back to its toggle (keyboard users). */
  function closeLoginBoxOnEscape(event) {
    if (event.key !== "Escape") {
      return;
    }
    var toggle = document.querySelector("[data-ecl-login-toggle][aria-expanded='true']");
    if (toggle) {
      toggle.click();
      toggle.focus();
    }
  }

  /* ECL names a multiple select's toggle button by the field's label only, while the button
     shows "Choose organisations" or the chosen names: add the button's own text to its name so
     speech users can say what they see (WCAG 2.5.3, label in name). */
  function nameMultiSelectToggles() {
    var toggles = document.querySelectorAll(".ecl-select__multiple-toggle[aria-labelledby][id]");
    Array.prototype.forEach.call(toggles, function (toggle) {
      var ids = toggle.getAttribute("aria-labelledby").split(/\s+/);
      if (ids.indexOf(toggle.id) === -1) {
        toggle.setAttribute("aria-labelledby", ids.concat([toggle.id]).join(" "));
      }
    });
  }

  // The edit form's "who would see it" line follows the marking fields as they change; without
  // script the "Check who would see it" button asks the same question.
  var AUDIENCE_FIELDS = ["tlp", "law_enforcement_only", "recipient_orgs", "recipient_users", "cluster"];

  function followAudience() {
    var region = document.querySelector("[data-pax-audience-preview]");
    var form = region && region.closest("form");
    if (!form || !window.fetch || !window.DOMParser) {
      return;
    }
    var timer = null;
    function ask() {
      var data = new FormData(form);
      data.set("preview", "audience");
      window.fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var answer = new DOMParser().parseFromString(html, "text/html").querySelector("[data-pax-audience-preview]");
          if (answer) {
            region.innerHTML = answer.innerHTML;
          }
        })
        .catch(function () { /* the button still asks the same question */ });
    }
    form.addEventListener("change", function (event) {
      if (event.target && AUDIENCE_FIELDS.indexOf(event.target.name) !== -1) {
        window.clearTimeout(timer);
        timer = window.setTimeout(ask, 300);
      }
    });
  }

  // The post form shows the deliverable and incident sections only for their type. Without
  // script every section stays shown, and the server says which details a type does not carry.
  function sectionsForType() {
    var sections = document.querySelectorAll("[data-pax-for-type]");
    var form = sections.length && sections[0].closest("form");
    var type = form && form.querySelector("[name=type]");
    if (!type) {
      return;
    }
    function show() {
      Array.prototype.forEach.call(sections, function (section) {
        var mine = section.getAttribute("data-pax-for-type") === type.value;
        // A section holding an error stays in view, so the person sees what to correct.
        var flagged = section.querySelector(".ecl-feedback-message, [aria-invalid='true']");
        section.hidden = !(mine || flagged);
      });
    }
    type.addEventListener("change", show);
    show();
  }

  // Two minutes before the idle limit, offer to stay signed in; one request resets the limit.
  function warnBeforeIdleSignOut() {
    var box = document.getElementById("pax-idle-warning");
    if (!box || !window.fetch) {
      return;
    }
    var idle = parseInt(box.getAttribute("data-pax-idle-seconds"), 10) || 0;
    var lead = Math.min(120, Math.floor(idle / 2));
    var button = box.querySelector("[data-pax-stay]");
    var text = box.querySelector("[data-pax-idle-text]");
    var timer = null;
    function arm() {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        box.hidden = false;
        if (button) {
          button.focus();
        }
      }, Math.max(idle - lead, 1) * 1000);
    }
    if (button) {
      button.addEventListener("click", function () {
        window.fetch(box.getAttribute("data-pax-alive-url"), { credentials: "same-origin", redirect: "manual" })
          .then(function (response) {
            if (response.status === 204) {
              box.hidden = true;
              arm();
            } else if (text) {
              text.textContent = "Your session has already ended. Copy what you were writing, then sign in again in another tab.";
            }
          });
      });
    }
    arm();
  }

  function start() {
    if (window.ECL && typeof window.ECL.autoInit === "function") {
      window.ECL.autoInit();
    }
    nameMultiSelectToggles();
    followAudience();
    sectionsForType();
    warnBeforeIdleSignOut();
    placeLoginArrow();
    window.addEventListener("resize", placeLoginArrow);
    document.addEventListener("keydown", closeLoginBoxOnEscape);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
