from django.urls import path

from . import views

app_name = "automation"

urlpatterns = [
    path("", views.TaskListView.as_view(), name="task_list"),
    path("dodaj/", views.TaskFormView.as_view(), name="task_create"),
    path("popularne/<slug:key>/", views.PopularChooseView.as_view(), name="popular_choose"),
    path("<int:pk>/", views.TaskDetailView.as_view(), name="task_detail"),
    path("<int:pk>/edytuj/", views.TaskFormView.as_view(), name="task_edit"),
    path("<int:pk>/przelacz/", views.TaskToggleView.as_view(), name="task_toggle"),
    path("<int:pk>/duplikuj/", views.TaskDuplicateView.as_view(), name="task_duplicate"),
    path("<int:pk>/usun/", views.TaskDeleteView.as_view(), name="task_delete"),
    path("przebiegi/<int:pk>/ponow/", views.RunRetryView.as_view(), name="run_retry"),
    path("szablony/", views.TemplateListView.as_view(), name="template_list"),
    path("szablony/dodaj/", views.TemplateFormView.as_view(), name="template_create"),
    path("szablony/<int:pk>/", views.TemplateFormView.as_view(), name="template_edit"),
    path("szablony/<int:pk>/usun/", views.TemplateDeleteView.as_view(), name="template_delete"),
]
