from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from esm import bench, oidc, views

auth_patterns = [
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.SignOutView.as_view(), name="logout"),
    # Single sign-on (OpenID Connect): 404 unless configured. The callback is the redirect
    # URI to register at the identity provider.
    path(
        "oidc/sign-in/",
        login_not_required(oidc.SignInStartView.as_view()),
        name="oidc_authentication_init",
    ),
    path(
        "oidc/callback/",
        login_not_required(oidc.SignInCallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "password/change/",
        views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("work/", views.workspace, name="workspace"),
    path("audit/", views.audit_log, name="audit_log"),
    path("account/", include(auth_patterns)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("valuestreams.api.urls")),
    path("api/v1/", include("journeys.api.urls")),
    path("api/v1/", include("services.api.urls")),
    path("api/v1/", include("reporting.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's set-up as a script of its own: no inline script.
    # Swagger UI sets style attributes as it draws, so this one page allows inline styles
    # (never inline scripts).
    path(
        "api/docs/",
        csp_override({**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    # Directory provisioning (SCIM 2.0), for the identity provider.
    path("scim/v2/", include("esm.scim.urls")),
    # The apps' pages are named by string: esm, the bottom layer, never imports the apps
    # built on it. Value streams, journeys and reporting first: the portal below ends in
    # catch-all patterns.
    path("streams/", include("valuestreams.urls")),
    path("journeys/", include("journeys.urls")),
    path("", include("reporting.urls")),
    # The self-service portal, home page ("home") included.
    path("", include("services.urls")),
]

# A program calling /api/ gets JSON errors even where no operation matched.
handler404 = "esm.api.not_found"
handler500 = "esm.api.server_error"

if settings.BENCH:
    # `make bench`'s floor: the framework's own cost of a signed-in page.
    urlpatterns.insert(0, path("bench/noop/", bench.noop, name="bench_noop"))
