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
              // The page writes its words in the reader's language (base.html).
              text.textContent = box.getAttribute("data-pax-ended-text");
            }
          });
      });
    }
    // A draft saved in the background is activity too: the server's idle limit started again.
    document.addEventListener("pax:active", function () {
      if (box.hidden) {
        arm();
      }
    });
    arm();
  }

  // Forms that take drafts save one every few seconds while the member types (app/drafts);
  // without script, their "Save draft" button does the same. Files are never part of a draft.
  var AUTOSAVE_DELAY = 3000;

  function autosaveDrafts() {
    var forms = document.querySelectorAll("form[data-pax-autosave]");
    if (!forms.length || !window.fetch || !window.FormData) {
      return;
    }
    Array.prototype.forEach.call(forms, function (form) {
      var url = form.getAttribute("data-pax-autosave");
      var idField = form.querySelector("[data-pax-draft-id]");
      var status = form.querySelector("[data-pax-draft-status]");
      var timer = null;
      var dirty = false;
      var busy = false;
      function say(message) {
        if (status && message) {
          status.textContent = message;
        }
      }
      function save() {
        timer = null;
        if (busy) {
          timer = window.setTimeout(save, 1000);
          return;
        }
        if (!dirty) {
          return;
        }
        dirty = false;
        busy = true;
        var data = new FormData(form);
        var files = [];
        data.forEach(function (value, name) {
          if (typeof value !== "string") {
            files.push(name);
          }
        });
        files.forEach(function (name) {
          data.delete(name);
        });
        data.delete("pax_save_draft");
        data.set("pax_action", new URL(form.getAttribute("action") || window.location.href, window.location.href).pathname);
        window.fetch(url, { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) {
            return response.json().then(function (body) {
              busy = false;
              if (body.id && idField) {
                idField.value = body.id;
              }
              if (response.ok) {
                document.dispatchEvent(new CustomEvent("pax:active"));
              }
              say(body.message);
            });
          })
          .catch(function () {
            busy = false;
            dirty = true;
            say(document.body.getAttribute("data-pax-draft-failed"));
          });
      }
      function changed(event) {
        if (event.target && event.target.type === "file") {
          return;
        }
        dirty = true;
        // Every few seconds while typing goes on, not only once it stops.
        if (!timer) {
          timer = window.setTimeout(save, AUTOSAVE_DELAY);
        }
      }
      form.addEventListener("input", changed);
      form.addEventListener("change", changed);
      form.addEventListener("submit", function () {
        window.clearTimeout(timer);
        timer = null;
        dirty = false;
      });
    });
  }

  function start() {
    if (window.ECL && typeof window.ECL.autoInit === "function") {
      window.ECL.autoInit();
    }
    nameMultiSelectToggles();
    followAudience();
    sectionsForType();
    warnBeforeIdleSignOut();
    autosaveDrafts();
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
