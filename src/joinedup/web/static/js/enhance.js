// Runs first thing in <body>: tells the NHS.UK frontend styles that JavaScript is running, as
// the design system's own page template does (kept in a file so the page needs no inline script).
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " nhsuk-frontend-supported" : "");
