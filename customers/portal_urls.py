"""Customer portal URLs of the customers app (mounted under /p/<org_slug>/, namespace
"portal"): sign-in, sign-out, preferences, and the staff "send portal link" hook."""

from django.urls import path

from customers.portal.views import auth, preferences, staff

urlpatterns: list = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("login/code/", auth.CodeView.as_view(), name="login_code"),
    path("login/link/", auth.LinkView.as_view(), name="login_link"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("preferences/", preferences.PreferencesView.as_view(), name="preferences"),
    path(
        "staff/customers/<int:pk>/send-link/",
        staff.PortalLinkSendView.as_view(),
        name="staff_send_link",
    ),
]
