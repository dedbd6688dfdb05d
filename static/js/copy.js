/* Progressive enhancement: a "Copy" button for the text of the element its
   data-copy attribute names. Without JavaScript (or a clipboard) the button
   stays hidden and the text can be selected and copied by hand. */
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) { return; }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy") + "-status");
    if (!target) { return; }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        button.textContent = "Copied";
        if (status) { status.textContent = "Copied to the clipboard."; }
        window.setTimeout(function () { button.textContent = label; }, 4000);
      }, function () {
        if (status) { status.textContent = "Could not copy: select the text and copy it yourself."; }
      });
    });
  });
}());
