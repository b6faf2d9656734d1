// Demo portal: clicking a sentence puts it into the widget's message box.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-say]") : null;
  if (button && window.DropDesk) window.DropDesk.fill(button.getAttribute("data-say") || "");
});
