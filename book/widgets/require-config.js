// Point requirejs at the book's own copy of anywidget (node_modules/anywidget/dist/index.js, copied
// by dark.pipeline), so the widget manager never asks a CDN for it.
(function () {
  var here = document.currentScript.src.replace(/[^/]*$/, "");
  require.config({ paths: { anywidget: here + "anywidget/index" } });
})();
