/* Record pages and forms: the lookup type-ahead (an ARIA combobox over a listbox the server
   fills), line grid rows, and closing an action's dialog once it ran. Everything else —
   conditions, formulas, totals, errors — comes from the server through htmx. */
(function () {
  "use strict";

  var COMBOBOX = '[data-lookup] [role="combobox"]';

  function parts(input) {
    var box = input.closest("[data-lookup]");
    return {value: box.querySelector("[data-lookup-value]"), list: box.querySelector('[role="listbox"]')};
  }

  function choices(list) {
    return Array.prototype.slice.call(list.querySelectorAll('[role="option"]:not([aria-disabled="true"])'));
  }

  function open(input, list) {
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function close(input, list) {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function activate(input, list, option) {
    choices(list).forEach(function (item) {
      var on = item === option;
      item.classList.toggle("active", on);
      item.setAttribute("aria-selected", on ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({block: "nearest"});
  }

  function changed(element) {
    element.dispatchEvent(new Event("change", {bubbles: true}));
  }

  function choose(input, option) {
    var p = parts(input);
    p.value.value = option.dataset.value;
    input.value = option.dataset.label;
    close(input, p.list);
    changed(p.value);  // the form refreshes what depends on it
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (!list || !list.matches || !list.matches('[data-lookup] [role="listbox"]')) { return; }
    var input = list.closest("[data-lookup]").querySelector('[role="combobox"]');
    if (document.activeElement === input) { open(input, list); }
  });

  document.addEventListener("input", function (event) {
    if (!event.target.matches || !event.target.matches(COMBOBOX)) { return; }
    var p = parts(event.target);
    if (p.value.value) {  // typing again unsets the chosen record until another is chosen
      p.value.value = "";
      changed(p.value);
    }
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches(COMBOBOX)) { return; }
    var p = parts(input);
    var items = choices(p.list);
    var current = p.list.querySelector('[role="option"][aria-selected="true"]');
    var index = items.indexOf(current);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!items.length) { htmx.trigger(input, "lookup"); return; }
      if (p.list.hidden) { open(input, p.list); }
      var next = event.key === "ArrowDown" ? Math.min(index + 1, items.length - 1) : Math.max(index - 1, 0);
      activate(input, p.list, items[next]);
    } else if (event.key === "Enter" && !p.list.hidden && current) {
      event.preventDefault();
      choose(input, current);
    } else if (event.key === "Escape" && !p.list.hidden) {
      event.preventDefault();
      close(input, p.list);
    }
  });

  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest('[data-lookup] [role="option"]');
    if (!option || option.getAttribute("aria-disabled") === "true") { return; }
    event.preventDefault();  // keep the focus in the input
    choose(option.closest("[data-lookup]").querySelector('[role="combobox"]'), option);
  });

  document.addEventListener("focusout", function (event) {
    if (event.target.matches && event.target.matches(COMBOBOX)) { close(event.target, parts(event.target).list); }
  });

  // ---------------------------------------------------------------- line grids
  document.addEventListener("click", function (event) {
    var remove = event.target.closest && event.target.closest("[data-remove-row]");
    if (!remove) { return; }
    var row = remove.closest("tr");
    var body = row.parentElement;
    var grid = row.closest("[data-grid]");
    var errors = row.nextElementSibling;
    if (errors && errors.matches("[data-row-errors]")) { errors.remove(); }
    row.remove();
    changed(body);  // totals are recomputed without the line
    var add = grid.querySelector("[data-add-row]");
    if (add) { add.focus(); }
  });

  // ---------------------------------------------------------------- actions
  document.addEventListener("tessera:action-done", function () {
    document.querySelectorAll(".modal.show").forEach(function (dialog) {
      bootstrap.Modal.getOrCreateInstance(dialog).hide();
    });
    var messages = document.getElementById("record-messages");
    if (messages) { messages.focus(); }
  });
})();
