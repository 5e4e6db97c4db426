// Cobro dashboard: progressive enhancement only; every page works without this file.
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  // Phone navigation drawer.
  const toggle = document.querySelector("[data-nav-toggle]");
  const sidebar = document.getElementById("sidebar");
  if (toggle && sidebar) {
    const setOpen = (open) => {
      sidebar.classList.toggle("is-open", open);
      toggle.setAttribute("aria-expanded", String(open));
    };
    toggle.addEventListener("click", () => setOpen(!sidebar.classList.contains("is-open")));
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") setOpen(false);
    });
  }

  // Close an open <details> dropdown on Escape or a click elsewhere.
  const dropdowns = document.querySelectorAll("details.dropdown");
  document.addEventListener("click", (e) => {
    dropdowns.forEach((d) => {
      if (d.open && !d.contains(e.target)) d.open = false;
    });
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    dropdowns.forEach((d) => {
      if (d.open) {
        d.open = false;
        d.querySelector("summary")?.focus();
      }
    });
  });

  // Sign-up: suggest the address from the business name until the user edits it.
  const name = document.getElementById("id_display_name");
  const slug = document.getElementById("id_slug");
  if (name && slug && !slug.value) {
    let touched = false;
    slug.addEventListener("input", () => { touched = true; });
    name.addEventListener("input", () => {
      if (touched) return;
      slug.value = name.value
        .normalize("NFD").replace(/[\u0300-\u036f]/g, "")
        .toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
    });
  }

  // Buttons that ask before a destructive POST.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });
});
