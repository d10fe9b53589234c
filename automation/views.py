from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views import View

from accounting import emails
from accounting.models import EmailTemplate
from apilo.errors import ApplicationError
from apilo.http import safe_redirect
from apilo.roles import AdminRequiredMixin, StaffRequiredMixin, is_staff_role

from . import actions as action_types
from . import gallery, services
from .forms import ActionFormSet, EmailTemplateForm, TaskForm
from .models import AutomaticTask, RunState, TaskRun


def order_runs_panel(request, order) -> str:
    """The order card's automation log and e-mails (registered in AutomationConfig.ready)."""
    if not is_staff_role(request.user):
        return ""
    from accounting.models import EmailMessage

    runs = TaskRun.objects.filter(order=order).select_related("event")[:50]
    mails = EmailMessage.objects.filter(document__order=order).select_related("document", "actor")[:50]
    return render_to_string(
        "automation/order_panel.html", {"runs": runs, "mails": mails, "order": order}, request=request
    )


class TaskListView(AdminRequiredMixin, View):
    def get(self, request):
        from django.db.models import Count, Max, Q

        tasks = AutomaticTask.objects.annotate(
            runs_ok=Count("runs", filter=Q(runs__state=RunState.OK)),
            runs_failed=Count("runs", filter=Q(runs__state=RunState.FAILED)),
            last_run=Max("runs__created_at"),
        ).select_related("to_status")
        tasks = list(tasks.prefetch_related("actions__series", "actions__printer"))
        for task in tasks:  # what is broken now (something it points at was deleted), not only at the last event
            task.broken_reason = services.task_problems(task) or task.broken_reason
        return render(request, "automation/task_list.html", {"tasks": tasks, "popular": gallery.POPULAR})


class TaskFormView(AdminRequiredMixin, View):
    template_name = "automation/task_form.html"

    def get(self, request, pk=None):
        task = get_object_or_404(AutomaticTask, pk=pk) if pk else None
        form = TaskForm(initial=TaskForm.initial_from(task) if task else {})
        actions = ActionFormSet(
            prefix="actions",
            initial=[{**action_types.to_data(a), "ORDER": a.position + 1} for a in task.actions.all()]
            if task
            else None,
        )
        return render(request, self.template_name, {"form": form, "actions": actions, "task": task})

    def post(self, request, pk=None):
        task = get_object_or_404(AutomaticTask, pk=pk) if pk else None
        form = TaskForm(request.POST)
        actions = ActionFormSet(request.POST, prefix="actions")
        if form.is_valid() and actions.is_valid():
            ordered = [f for f in actions.ordered_forms] + [
                f for f in actions.forms if f not in actions.ordered_forms and f.cleaned_data
            ]
            action_data = [a for a in (f.as_action() for f in ordered if f.cleaned_data) if a]
            try:
                saved = services.task_save(data=form.to_data(action_data), task=task)
            except ApplicationError as err:
                form.add_error(None, err.message)
            else:
                messages.success(request, f"Zapisano zadanie „{saved.name}”.")
                return redirect("automation:task_detail", pk=saved.pk)
        return render(request, self.template_name, {"form": form, "actions": actions, "task": task}, status=400)


class TaskDetailView(AdminRequiredMixin, View):
    def get(self, request, pk):
        task = get_object_or_404(AutomaticTask.objects.prefetch_related("actions"), pk=pk)
        runs = task.runs.select_related("order", "event")[:100]
        return render(
            request,
            "automation/task_detail.html",
            {
                "task": task,
                "runs": runs,
                "problem": services.task_problems(task),
                "described": [action_types.describe(a) for a in task.actions.all()],
            },
        )


class TaskToggleView(AdminRequiredMixin, View):
    def post(self, request, pk):
        task = get_object_or_404(AutomaticTask, pk=pk)
        task.active = not task.active
        task.save(update_fields=["active", "updated_at"])
        messages.success(request, f"Zadanie „{task.name}” jest teraz {'aktywne' if task.active else 'nieaktywne'}.")
        return safe_redirect(request, request.POST.get("next"), "automation:task_list")


class TaskDuplicateView(AdminRequiredMixin, View):
    def post(self, request, pk):
        copy = services.task_duplicate(task=get_object_or_404(AutomaticTask, pk=pk))
        messages.success(request, f"Utworzono kopię „{copy.name}” (nieaktywną).")
        return redirect("automation:task_edit", pk=copy.pk)


class TaskDeleteView(AdminRequiredMixin, View):
    def get(self, request, pk):
        return render(request, "automation/task_confirm_delete.html", {"task": get_object_or_404(AutomaticTask, pk=pk)})

    def post(self, request, pk):
        task = get_object_or_404(AutomaticTask, pk=pk)
        task.delete()
        messages.success(request, f"Usunięto zadanie „{task.name}”. Historia jego przebiegów została zachowana.")
        return redirect("automation:task_list")


class PopularChooseView(AdminRequiredMixin, View):
    def post(self, request, key):
        try:
            task = services.task_save(data=gallery.resolve(key))
        except ApplicationError as err:
            messages.error(request, err.message)
            return redirect("automation:task_list")
        messages.success(request, f"Dodano zadanie „{task.name}”. Sprawdź je i włącz przełącznikiem Aktywne.")
        return redirect("automation:task_detail", pk=task.pk)


class RunRetryView(StaffRequiredMixin, View):
    def post(self, request, pk):
        run = get_object_or_404(TaskRun, pk=pk)
        try:
            run = services.run_retry(run=run)
        except ApplicationError as err:
            messages.error(request, err.message)
        else:
            messages.info(request, f"Ponowiono: {run.get_state_display()}.")
        return safe_redirect(request, request.POST.get("next"), "automation:task_list")


# --- Szablony e-mail -------------------------------------------------------------------------------------


class TemplateListView(AdminRequiredMixin, View):
    def get(self, request):
        return render(
            request,
            "automation/template_list.html",
            {"templates": EmailTemplate.objects.all(), "placeholders": emails.PLACEHOLDERS},
        )


class TemplateFormView(AdminRequiredMixin, View):
    def _render(self, request, form, template, preview=None, status=200):
        return render(
            request,
            "automation/template_form.html",
            {
                "form": form,
                "template_obj": template,
                "placeholders": emails.PLACEHOLDERS,
                "preview": preview,
                "used_by": services.task_references(template=template) if template else [],
            },
            status=status,
        )

    def get(self, request, pk=None):
        template = get_object_or_404(EmailTemplate, pk=pk) if pk else None
        initial = (
            {
                "name": template.name,
                "subject": template.subject,
                "body": template.body,
                "is_default": template.is_default,
            }
            if template
            else {}
        )
        return self._render(request, EmailTemplateForm(initial=initial), template)

    def post(self, request, pk=None):
        template = get_object_or_404(EmailTemplate, pk=pk) if pk else None
        form = EmailTemplateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if "preview" in request.POST:
                sample = emails.sample_render(data["subject"], data["body"])
                return self._render(request, form, template, preview=sample)
            try:
                template = emails.template_save(data=data, template=template)
            except ApplicationError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                messages.success(request, f"Zapisano szablon „{template.name}”.")
                return redirect("automation:template_list")
        return self._render(request, form, template, status=400)


class TemplateDeleteView(AdminRequiredMixin, View):
    """Delete a template; refused while an automatic task uses it (the tasks are named)."""

    def get(self, request, pk):
        template = get_object_or_404(EmailTemplate, pk=pk)
        return render(
            request,
            "automation/template_confirm_delete.html",
            {"template_obj": template, "used_by": services.task_references(template=template)},
        )

    def post(self, request, pk):
        template = get_object_or_404(EmailTemplate, pk=pk)
        try:
            services.email_template_delete(template=template)
        except ApplicationError as err:
            messages.error(request, err.message)
            return redirect("automation:template_edit", pk=pk)
        messages.success(request, f"Usunięto szablon „{template.name}”.")
        return redirect("automation:template_list")
