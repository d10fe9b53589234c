"""The two roles, Administrator and Obsługa, and the checks every view and API endpoint uses."""

from __future__ import annotations

from django.contrib.auth.mixins import AccessMixin
from rest_framework.permissions import BasePermission

ADMIN_GROUP = "Administrator"
STAFF_GROUP = "Obsługa"


def _groups(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_role_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_groups = cached
    return cached


def is_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or ADMIN_GROUP in _groups(user)


def is_staff_role(user) -> bool:
    """Obsługa or Administrator: may work with orders and documents."""
    return is_admin(user) or STAFF_GROUP in _groups(user)


class StaffRequiredMixin(AccessMixin):
    """Anonymous → login page; logged in without a role → 403."""

    role_check = staticmethod(is_staff_role)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.role_check(request.user):
            self.raise_exception = True
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)


class AdminRequiredMixin(StaffRequiredMixin):
    role_check = staticmethod(is_admin)


class IsStaffRole(BasePermission):
    message = "Brak uprawnień: wymagana rola Obsługa lub Administrator."

    def has_permission(self, request, view):
        return is_staff_role(request.user)


class IsAdminRole(BasePermission):
    message = "Brak uprawnień: wymagana rola Administrator."

    def has_permission(self, request, view):
        return is_admin(request.user)


class StaffReadAdminWrite(BasePermission):
    """Obsługa may read (e.g. the status list); only Administrator may change."""

    message = "Brak uprawnień: zmiany wymagają roli Administrator."

    def has_permission(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return is_staff_role(request.user)
        return is_admin(request.user)


# The menu: (section label, [(entry label, url name, admin only)]). Later capabilities add their entries here;
# an entry is listed only when its URL exists and the user's role may open it.
NAVIGATION = [
    ("BOK – zamówienia", [("Zamówienia", "orders:list", False), ("Pakowanie", "orders:packing", False)]),
    ("Księgowość", [("Dokumenty", "accounting:document_list", False)]),
    (
        "Administracja",
        [
            ("Konfiguracja faktur", "integrations:list", True),
            ("KSeF", "ksef:list", True),
            ("Księgowość konfiguracja", "accounting:series_list", True),
            ("Zadania automatyczne", "automation:task_list", True),
            ("Szablony e-mail", "automation:template_list", True),
            ("Urządzenia", "devices:list", True),
            ("Statusy zamówień", "orders:status_list", True),
            ("Użytkownicy", "users:list", True),
        ],
    ),
]


def navigation(request):
    from django.urls import NoReverseMatch, reverse

    user = getattr(request, "user", None)
    if not user or not is_staff_role(user):
        return {"nav_sections": [], "user_is_admin": False}
    admin = is_admin(user)
    sections = []
    for label, entries in NAVIGATION:
        items = []
        for entry_label, url_name, admin_only in entries:
            if admin_only and not admin:
                continue
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                continue
            items.append({"label": entry_label, "url": url, "active": request.path.startswith(url)})
        if items:
            sections.append({"label": label, "items": items})
    return {"nav_sections": sections, "user_is_admin": admin}
