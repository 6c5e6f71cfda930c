from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal.console import views as console
from portal.progress import views as progress
from portal.review import views as review
from portal.submissions import views as submissions

admin.site.site_header = "Phakhi · ภาคี"

partner = [
    path("", progress.progress, name="progress"),
    path("submit/", submissions.upload, name="upload"),
    path("submissions/", submissions.history, name="submissions"),
    path("submissions/<int:pk>/", submissions.detail, name="submission"),
    path("template/<slug:family>.xlsx", submissions.template, name="template"),
    path("review/", review.review, name="review"),
]

urlpatterns = [
    path("", progress.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/set-password/<uidb64>/<token>/",
         auth_views.PasswordResetConfirmView.as_view(post_reset_login=False, success_url="/accounts/login/?set=1"),
         name="password_reset_confirm"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(success_url="/"), name="password_change"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("p/<str:partner_id>/", include(partner)),
    path("console/", console.console, name="console"),
    path("console/export.csv", console.export, name="console_export"),
    path("console/replies/<int:pk>/resolve/", console.resolve, name="resolve"),
    path("console/approve/", console.approve, name="approve"),
    path("admin/", admin.site.urls),
]
