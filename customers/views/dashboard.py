"""Staff pages for customers: list, detail, create, edit, CSV import.

Reading needs the "view" permission; creating, editing and importing need "bill".
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from cobro.views.base import StaffView
from customers.forms import CustomerFilterForm, CustomerForm, CustomerImportUploadForm
from customers.models import Customer, CustomerImport
from customers.selectors import customer_countries_in_use, customer_import_list, customer_list
from customers.services.customers import customer_create, customer_update
from customers.services.imports import (
    MAX_UPLOAD_BYTES,
    customer_import_confirm,
    customer_import_create,
)

PAGE_SIZE = 25


class CustomerListView(StaffView):
    def get(self, request):
        form = CustomerFilterForm(request.GET or None, countries=customer_countries_in_use())
        filters = form.cleaned_data if form.is_valid() else {}
        customers = customer_list(
            search=filters.get("q", ""),
            country=filters.get("country", ""),
            locale=filters.get("locale", ""),
            ordering=filters.get("ordering") or "name",
        )
        page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
        filtered = any(filters.get(k) for k in ("q", "country", "locale"))
        return render(
            request,
            "customers/list.html",
            {
                "form": form,
                "page": page,
                "filtered": filtered,
                "ordering": filters.get("ordering") or "name",
                "can_bill": self.membership.has_perm("bill"),
            },
        )


class CustomerDetailView(StaffView):
    def get(self, request, pk: int):
        customer: Customer = get_object_or_404(Customer.objects.all(), pk=pk)
        return render(
            request,
            "customers/detail.html",
            {"customer": customer, "can_bill": self.membership.has_perm("bill")},
        )


class CustomerCreateView(StaffView):
    required_permission = "bill"

    def get(self, request):
        form = CustomerForm(initial={"country": self.organization.country, "locale": "es-419"})
        return self._render(form)

    def post(self, request):
        form = CustomerForm(request.POST)
        if form.is_valid():
            try:
                customer = customer_create(organization=self.organization, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
                return redirect("customers:detail", pk=customer.pk)
        return self._render(form, status=400)

    def _render(self, form, status: int = 200):
        return render(
            self.request,
            "customers/form.html",
            {"form": form, "customer": None},
            status=status,
        )


class CustomerUpdateView(StaffView):
    required_permission = "bill"

    def get(self, request, pk: int):
        customer: Customer = get_object_or_404(Customer.objects.all(), pk=pk)
        form = CustomerForm(initial=CustomerForm.initial_from(customer))
        return render(request, "customers/form.html", {"form": form, "customer": customer})

    def post(self, request, pk: int):
        customer: Customer = get_object_or_404(Customer.objects.all(), pk=pk)
        form = CustomerForm(request.POST)
        if form.is_valid():
            try:
                customer_update(customer=customer, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Customer %(name)s saved.") % {"name": customer.name})
                return redirect("customers:detail", pk=customer.pk)
        customer.refresh_from_db()
        return render(
            request, "customers/form.html", {"form": form, "customer": customer}, status=400
        )


class CustomerImportStartView(StaffView):
    required_permission = "bill"

    def get(self, request):
        return self._render(CustomerImportUploadForm())

    def post(self, request):
        form = CustomerImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = customer_import_create(
                    organization=self.organization,
                    upload=upload,
                    filename=upload.name,
                    update_existing=form.cleaned_data["update_existing"],
                    created_by=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("customers:import_detail", pk=job.pk)
        return self._render(form, status=400)

    def _render(self, form, status: int = 200):
        return render(
            self.request,
            "customers/import_start.html",
            {
                "form": form,
                "imports": customer_import_list(),
                "limit_mb": MAX_UPLOAD_BYTES // 1024 // 1024,
            },
            status=status,
        )


class CustomerImportDetailView(StaffView):
    """Preview (rows and errors) before confirming; progress and summary afterwards."""

    def get(self, request, pk: int):
        job: CustomerImport = get_object_or_404(CustomerImport.objects.all(), pk=pk)
        return render(
            request,
            "customers/import_detail.html",
            {"job": job, "can_bill": self.membership.has_perm("bill")},
        )


class CustomerImportConfirmView(StaffView):
    required_permission = "bill"

    def post(self, request, pk: int):
        job: CustomerImport = get_object_or_404(CustomerImport.objects.all(), pk=pk)
        try:
            customer_import_confirm(job=job)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("customers:import_detail", pk=job.pk)


class CustomerImportProgressView(StaffView):
    """The progress fragment polled by htmx; stops polling once the import is finished."""

    def get(self, request, pk: int):
        job: CustomerImport = get_object_or_404(CustomerImport.objects.all(), pk=pk)
        return render(request, "customers/_import_progress.html", {"job": job})
