// Starts Swagger UI on /api/docs/ from a static file, so the page needs no
// inline script (CSP). The schema URL and CSRF token come from data attributes:
// with a logged-in session, "Try it out" sends the CSRF header Django expects.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var csrfToken = root.dataset.csrfToken;
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    requestInterceptor: function (request) {
      if (csrfToken) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
});
