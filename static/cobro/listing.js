// Staff lists: "select all on this page" for bulk actions; the rest works without JavaScript.
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  const form = all.closest("form");
  form.querySelectorAll("input[name=ids]").forEach((box) => { box.checked = all.checked; });
});
