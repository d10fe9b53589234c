"""Project-wide views: login with throttling, home, health check, Administracja > Użytkownicy."""

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from .roles import ADMIN_GROUP, STAFF_GROUP, AdminRequiredMixin

logger = logging.getLogger(__name__)
User = get_user_model()


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


class ThrottledLoginView(auth_views.LoginView):
    """Django's login, refusing after LOGIN_MAX_FAILURES failures per (username, address) for a while."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def _key(self) -> str:
        username = (self.request.POST.get("username") or "").strip().lower()
        return f"login-failures:{username}:{_client_address(self.request)}"

    def post(self, request, *args, **kwargs):
        if cache.get(self._key(), 0) >= settings.LOGIN_MAX_FAILURES:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, "Zbyt wiele nieudanych prób logowania. Spróbuj ponownie za kilkanaście minut.")
            logger.warning("login throttled", extra={"address": _client_address(request)})
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        key = self._key()
        cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
        return super().form_invalid(form)

    def form_valid(self, form):
        cache.delete(self._key())
        return super().form_valid(form)


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect("orders:list")


ROLE_CHOICES = [("staff", STAFF_GROUP), ("admin", ADMIN_GROUP)]


class UserForm(forms.Form):
    username = forms.CharField(label="Login", max_length=150)
    first_name = forms.CharField(label="Imię", max_length=150, required=False)
    last_name = forms.CharField(label="Nazwisko", max_length=150, required=False)
    email = forms.EmailField(label="E-mail", required=False)
    role = forms.ChoiceField(label="Rola", choices=ROLE_CHOICES)
    is_active = forms.BooleanField(label="Aktywny", required=False, initial=True)
    password = forms.CharField(
        label="Hasło",
        widget=forms.PasswordInput,
        required=False,
        help_text="Przy edycji zostaw puste, aby nie zmieniać hasła.",
    )

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)
        if instance is None:
            self.fields["password"].required = True

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        others = User.objects.filter(username__iexact=username)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError("Użytkownik o takim loginie już istnieje.")
        return username

    def clean_password(self):
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data.get("password")
        if password:
            validate_password(password, self.instance)
        return password


def user_save(*, form_data: dict, instance=None, actor=None):
    """Create or update a user with exactly one role group."""
    with transaction.atomic():
        user = instance or User()
        for field in ("username", "first_name", "last_name", "email", "is_active"):
            setattr(user, field, form_data[field])
        if instance is not None and instance.pk == getattr(actor, "pk", None) and not form_data["is_active"]:
            user.is_active = True
        if form_data.get("password"):
            user.set_password(form_data["password"])
        user.save()
        admin_group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
        staff_group, _ = Group.objects.get_or_create(name=STAFF_GROUP)
        user.groups.remove(admin_group, staff_group)
        user.groups.add(admin_group if form_data["role"] == "admin" else staff_group)
    return user


def _role_of(user) -> str:
    return "admin" if user.groups.filter(name=ADMIN_GROUP).exists() or user.is_superuser else "staff"


class UserListView(AdminRequiredMixin, View):
    def get(self, request):
        users = User.objects.prefetch_related("groups").order_by("username")
        return render(request, "users/user_list.html", {"users": users})


class UserCreateView(AdminRequiredMixin, View):
    def get(self, request):
        return render(request, "users/user_form.html", {"form": UserForm()})

    def post(self, request):
        form = UserForm(request.POST)
        if form.is_valid():
            user = user_save(form_data=form.cleaned_data, actor=request.user)
            messages.success(request, f"Dodano użytkownika {user.username}.")
            return redirect("users:list")
        return render(request, "users/user_form.html", {"form": form}, status=400)


class UserEditView(AdminRequiredMixin, View):
    def get(self, request, pk):
        user = get_object_or_404(User, pk=pk)
        initial = {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": _role_of(user),
            "is_active": user.is_active,
        }
        return render(
            request, "users/user_form.html", {"form": UserForm(initial=initial, instance=user), "edited": user}
        )

    def post(self, request, pk):
        user = get_object_or_404(User, pk=pk)
        form = UserForm(request.POST, instance=user)
        if form.is_valid():
            user_save(form_data=form.cleaned_data, instance=user, actor=request.user)
            messages.success(request, f"Zapisano użytkownika {user.username}.")
            return redirect("users:list")
        return render(request, "users/user_form.html", {"form": form, "edited": user}, status=400)
