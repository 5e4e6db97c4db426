"""Staff dashboard URLs of the feedback app (namespace "feedback"), plus the public one-click
survey links (signed tokens, no sign-in)."""

from django.urls import path, re_path

from feedback.views import dashboard as v
from feedback.views import public

app_name = "feedback"

urlpatterns: list = [
    path("", v.HomeView.as_view(), name="home"),
    path("settings/", v.SettingsView.as_view(), name="settings"),
    path("at-risk/", v.AtRiskView.as_view(), name="at_risk"),
    path("responses/<int:pk>/", v.ResponseDetailView.as_view(), name="response"),
    path("r/<str:token>/comment/", public.CommentLinkView.as_view(), name="comment"),
    # Any score text reaches the view, which refuses what is not a score with a clear page.
    re_path(
        r"^r/(?P<token>[^/]+)/(?P<score>-?[0-9]{1,6}|[^/]{1,20})/$",
        public.AnswerLinkView.as_view(),
        name="answer",
    ),
]
