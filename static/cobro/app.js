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

  // A table wider than the screen scrolls inside its .table-wrap: make that region reachable
  // and scrollable with the keyboard, named after its section's heading (WCAG 2.1.1).
  const markScrollable = () => {
    document.querySelectorAll(".table-wrap").forEach((wrap) => {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        if (wrap.hasAttribute("tabindex")) return;
        wrap.dataset.scrollRegion = "1";
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        const labelled = wrap.closest("[aria-labelledby]");
        const caption = wrap.querySelector("caption");
        if (labelled) wrap.setAttribute("aria-labelledby", labelled.getAttribute("aria-labelledby"));
        else if (caption) wrap.setAttribute("aria-label", caption.textContent.trim());
        else wrap.setAttribute("aria-label", document.title);
      } else if (wrap.dataset.scrollRegion) {
        delete wrap.dataset.scrollRegion;
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-labelledby");
        wrap.removeAttribute("aria-label");
      }
    });
  };
  markScrollable();
  window.addEventListener("resize", markScrollable);

  // Buttons that ask before a destructive POST.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });
});
