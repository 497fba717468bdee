/* Tessera's screens: small behaviours on top of htmx and Bootstrap. No inline scripts anywhere:
   this file and the vendored libraries are the only JavaScript a page runs. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // ---------------------------------------------------------------- lists: selection and bulk bar
  function showBulkGroups(select) {
    document.querySelectorAll("[data-bulk]").forEach(function (group) {
      group.hidden = group.dataset.bulk !== select.value;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      target.closest("table").querySelectorAll('tbody input[name="selected"]').forEach(function (box) {
        box.checked = target.checked;
      });
    } else if (target.id === "bulk-action") {
      showBulkGroups(target);
    }
  });

  document.addEventListener("click", function (event) {
    var remove = event.target.closest("[data-remove-filter]");
    if (remove) {
      var form = remove.closest("form");
      remove.closest(".filter-row").remove();
      if (form) { htmx.trigger(form, "submit"); }
      return;
    }
    var lang = event.target.closest("a[data-lang]");
    if (lang) {  // switch language on the page as it is now (htmx may have changed its URL)
      var url = new URL(window.location.href);
      url.searchParams.set("lang", lang.dataset.lang);
      lang.href = url.pathname + url.search;
    }
  });

  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    if (!form || form.id !== "bulk-form") { return; }
    var action = form.querySelector("#bulk-action");
    if (!action || action.value !== "delete") { return; }
    event.preventDefault();
    if (window.confirm(form.dataset.confirmDelete)) { event.detail.issueRequest(true); }
  });

  // ---------------------------------------------------------------- kanban
  var origins = {};  // card id -> its index in the column it was dragged out of

  function moveCard(board, card, from, to, oldIndex) {
    origins[card.dataset.id] = oldIndex;
    htmx.ajax("POST", board.dataset.moveUrl, {
      source: card, target: card, swap: "outerHTML",
      headers: {"X-CSRFToken": csrfToken()},
      values: {id: card.dataset.id, version: card.dataset.version, group: board.dataset.group,
               value: to.dataset.value, origin: from.dataset.value, state: board.dataset.state}
    });
  }

  function initBoards(root) {
    if (typeof Sortable === "undefined" || !root.querySelectorAll) { return; }
    root.querySelectorAll("[data-kanban][data-editable]").forEach(function (board) {
      if (board.dataset.ready) { return; }
      board.dataset.ready = "true";
      board.querySelectorAll(".kanban-cards").forEach(function (list) {
        Sortable.create(list, {
          group: "kanban-" + board.dataset.group, animation: 120, forceFallback: true,
          filter: "select, a, button, label", preventOnFilter: false,
          onEnd: function (evt) {
            if (evt.from !== evt.to) { moveCard(board, evt.item, evt.from, evt.to, evt.oldIndex); }
          }
        });
      });
    });
  }

  function bump(board, value, delta) {
    var badge = board.querySelector('.kanban-column[data-value="' + CSS.escape(value) + '"] .kanban-count');
    if (!badge) { return; }
    var count = parseInt(badge.dataset.count, 10) + delta;
    badge.dataset.count = String(count);
    badge.textContent = String(count) + (badge.dataset.exact === "false" ? "+" : "");
  }

  // a card the server sent back goes to the column of its value: the new one, or (refused)
  // back where it came from, at its old place
  function placeCard(card) {
    var board = card.closest("[data-kanban]");
    if (!board) { return; }
    var list = board.querySelector('.kanban-cards[data-value="' + CSS.escape(card.dataset.value) + '"]');
    if (list && card.parentElement !== list) {
      var index = origins[card.dataset.id];
      var before = card.hasAttribute("data-refused") && index !== undefined ? list.children[index] : list.firstElementChild;
      list.insertBefore(card, before || null);
    }
    delete origins[card.dataset.id];
    if (card.hasAttribute("data-moved-from")) {
      bump(board, card.dataset.movedFrom, -1);
      bump(board, card.dataset.value, 1);
    }
    if (!document.activeElement || document.activeElement === document.body) {
      (card.querySelector("select") || card).focus();
    }
  }

  htmx.onLoad(function (element) {
    if (element.matches && element.matches(".kanban-card")) { placeCard(element); }
    initBoards(element);
    var bulk = document.getElementById("bulk-action");
    if (bulk && element.contains && element.contains(bulk)) { showBulkGroups(bulk); }
  });
})();
