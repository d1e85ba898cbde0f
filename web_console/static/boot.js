/* The console's first two reads, started while the page's modules load (a classic script runs
 * at once; the modules wait for all of their imports): who is signed in, then, if someone
 * is, the top of the ranked queue (conversations/store.js's QUEUE_PAGE). console.js and the
 * store take each answer once (dom.js's firstGet), as the first answer to those reads; after
 * that they read for themselves. A refused answer (403 for a role without the queue) is read
 * again by the module that wanted it, so it decides. */
(function () {
  "use strict";
  var me = fetch("/console/api/me", { credentials: "same-origin" });
  window.switchboardBoot = {
    me: me,
    queue: me.then(function (r) {
      return r.ok ? fetch("/console/api/queue?limit=100", { credentials: "same-origin" }) : null;
    }),
  };
})();
