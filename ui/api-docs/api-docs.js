// Shows the OpenAPI document absd serves beside this page (doc.json) with Swagger UI,
// which absd embeds: the page fetches nothing from anywhere else, so validatorUrl is off
// (Swagger UI would otherwise send the document to an online validator).
'use strict'
window.addEventListener('load', function () {
  window.ui = window.SwaggerUIBundle({
    url: 'doc.json',
    dom_id: '#api',
    deepLinking: true,
    validatorUrl: null
  })
})
