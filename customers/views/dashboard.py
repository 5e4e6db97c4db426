"""Staff pages for customers: list, detail, create, edit, CSV import.

Reading needs the "view" permission; creating, editing and importing need "bill".
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cobro.exports import Column, ExportSpec, export_respond
from cobro.listing import csv_date, paginate
from cobro.views.base import StaffView
from customers.create_extensions import customer_create_extensions
from customers.forms import (
    CustomerCreateForm,
    CustomerForm,
    CustomerImportUploadForm,
)
from customers.list_filters import CustomerListFilterForm
from customers.models import Customer, CustomerImport
from customers.selectors import (
    customer_countries_in_use,
    customer_import_list,
    customer_timeline,
    filtered_customers,
)
from customers.services.customers import customer_create, customer_update
from customers.services.imports import (
    MAX_UPLOAD_BYTES,
    customer_import_confirm,
    customer_import_create,
)


def _customer_filter_form(data=None, *, organization):
    return CustomerListFilterForm(
        data, organization=organization, countries=customer_countries_in_use()
    )


class CustomerListView(StaffView):
    def get(self, request):
        form = _customer_filter_form(request.GET or None, organization=self.organization)
        customers = filtered_customers(organization=self.organization, data=form.filters())
        page = paginate(customers, request.GET.get("page"))
        return render(
            request,
            "customers/list.html",
            {
                "form": form,
                "page": page,
                "filtered": form.is_filtered(),
                "can_bill": self.membership.has_perm("bill"),
            },
        )


CUSTOMER_EXPORT = ExportSpec(
    key="customers",
    path="customers.views.dashboard.CUSTOMER_EXPORT",
    form=_customer_filter_form,
    queryset=lambda org, data: filtered_customers(organization=org, data=data),
    columns=(
        Column(gettext_lazy("Id"), lambda c, tz: c.pk),
        Column(gettext_lazy("Name"), lambda c, tz: c.name),
        Column(gettext_lazy("Email"), lambda c, tz: c.email),
        Column(gettext_lazy("Phone"), lambda c, tz: c.phone),
        Column(gettext_lazy("Tax id"), lambda c, tz: c.tax_id),
        Column(gettext_lazy("City"), lambda c, tz: c.city),
        Column(gettext_lazy("Country"), lambda c, tz: c.country),
        Column(gettext_lazy("Language"), lambda c, tz: c.locale),
        Column(gettext_lazy("Added"), lambda c, tz: csv_date(c.created_at, tz)),
    ),
)


class CustomerExportView(StaffView):
    """``GET`` with the list's filters -> ``customers-<org>-<date>.csv`` (streamed; large
    sets run in the background with a progress bar)."""

    def get(self, request):
        return export_respond(request, spec=CUSTOMER_EXPORT, organization=self.organization)


class CustomerDetailView(StaffView):
    def get(self, request, pk: int):
        customer: Customer = get_object_or_404(Customer.objects.all(), pk=pk)
        return render(
            request,
            "customers/detail.html",
            {
                "customer": customer,
                "can_bill": self.membership.has_perm("bill"),
                "timeline": customer_timeline(customer),
            },
        )


class CustomerCreateView(StaffView):
    required_permission = "bill"

    def get(self, request):
        form = CustomerCreateForm(
            initial={
                "country": self.organization.country,
                "locale": "es-419",
                **{e.name: request.GET.get(e.name, "") for e in customer_create_extensions()},
            },
            organization=self.organization,
        )
        return self._render(form)

    def post(self, request):
        form = CustomerCreateForm(request.POST, organization=self.organization)
        if form.is_valid():
            values, extras = form.split()
            try:
                with transaction.atomic():
                    customer = customer_create(organization=self.organization, **values)
                    for extension in form.extensions:
                        if extras.get(extension.name):
                            extension.apply(customer, extras[extension.name], request.user, request)
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
