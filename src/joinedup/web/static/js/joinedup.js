// Starts the NHS.UK frontend components, and starts them again inside content htmx swaps in.
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend.min.js";

initAll();

document.addEventListener("htmx:load", (event) => {
  const element = event.detail && event.detail.elt;
  if (element && element !== document.body) {
    initAll(element);
  }
});
