// Canned replies: choosing one fills the reply box (without JavaScript, the "Use" button
// reloads the page with the reply filled in).
document.addEventListener("change", function (event) {
  var select = event.target.closest("[data-canned-select]");
  if (!select) return;
  var option = select.options[select.selectedIndex];
  var target = document.getElementById(select.dataset.cannedSelect);
  if (option && option.dataset.body !== undefined && target) {
    target.value = option.dataset.body;
    target.focus();
  }
});
