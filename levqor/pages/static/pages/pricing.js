// The pricing page's progressive enhancements. Without JavaScript the ROI
// calculator is a GET form the server answers, and "Not ready yet?" is a
// plain aside with a Dismiss link; with it, the calculator answers as you
// type and the aside waits for exit intent, shown at most once a visit.
(function () {
  "use strict";

  var WEEKS_PER_MONTH = 52 / 12; // as levqor/pages/roi.py
  var SHOWN = "levqor-not-ready-shown"; // sessionStorage: this visit only

  function beacon(event) {
    // Counted only if the visitor consented to analytics (checked by the server).
    if (navigator.sendBeacon) {
      var body = new FormData();
      body.append("event", event);
      navigator.sendBeacon("/telemetry", body);
    }
  }

  function number(input, max) {
    var value = parseFloat(input.value);
    return isFinite(value) && value >= 0 && value <= max ? value : null;
  }

  function calculator() {
    var form = document.querySelector(".roi-form");
    if (!form) return;
    var hours = form.querySelector("[name=hours]");
    var rate = form.querySelector("[name=rate]");
    var result = document.querySelector(".roi-result");
    var hoursOut = document.getElementById("roi-hours");
    var moneyOut = document.getElementById("roi-money");
    var counted = false;
    function update() {
      var h = number(hours, 168);
      var r = number(rate, 10000);
      if (h === null || r === null) {
        result.hidden = true;
        return;
      }
      hoursOut.textContent = (Math.round(h * WEEKS_PER_MONTH * 10) / 10).toFixed(1);
      moneyOut.textContent = Math.round(h * WEEKS_PER_MONTH * r).toLocaleString("en-GB");
      result.hidden = false;
      if (!counted) {
        counted = true;
        beacon("roi_calculated");
      }
    }
    hours.addEventListener("input", update);
    rate.addEventListener("input", update);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      update();
    });
  }

  function notReady() {
    var aside = document.getElementById("not-ready");
    if (!aside) return;
    var seen = false;
    try {
      seen = sessionStorage.getItem(SHOWN) === "1";
    } catch (e) {
      seen = false;
    }
    aside.hidden = true;
    if (seen) return;
    function dismiss(event) {
      if (event) event.preventDefault();
      aside.hidden = true;
      aside.classList.remove("exit-intent");
      beacon("exit_prompt_dismissed");
    }
    function show() {
      document.removeEventListener("mouseout", onLeave);
      try {
        sessionStorage.setItem(SHOWN, "1");
      } catch (e) {
        /* private browsing: it can still show only once on this page */
      }
      aside.classList.add("exit-intent");
      aside.setAttribute("role", "dialog");
      aside.hidden = false;
      var button = aside.querySelector(".button");
      if (button) button.focus();
      beacon("exit_prompt_shown");
    }
    function onLeave(event) {
      // The pointer left through the top edge, towards the tabs or address bar.
      if (!event.relatedTarget && event.clientY <= 0) show();
    }
    document.addEventListener("mouseout", onLeave);
    aside.querySelector("[data-dismiss]").addEventListener("click", dismiss);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !aside.hidden) dismiss(event);
    });
    var trial = aside.querySelector("[data-telemetry]");
    if (trial) {
      trial.addEventListener("click", function () {
        beacon(trial.getAttribute("data-telemetry"));
        aside.hidden = true;
      });
    }
  }

  calculator();
  notReady();
})();
