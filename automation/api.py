"""REST API: `/api/automatic-tasks/` (+ runs), `/api/email-templates/`, `/api/orders/{id}/emails/`."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting import emails
from accounting.email_api import EmailMessageSerializer
from accounting.models import EmailMessage, EmailTemplate
from apilo.roles import IsAdminRole, IsStaffRole, StaffReadAdminWrite
from orders.models import Order

from . import actions as action_types
from . import services
from .api_shapes import ActionSerializer, ConditionSerializer, EventSerializer
from .models import AutomaticTask, TaskRun


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=150)
    active = serializers.BooleanField(default=True)
    event = EventSerializer()
    conditions = ConditionSerializer(many=True, required=False, default=list)
    actions = ActionSerializer(many=True, allow_empty=False)
    broken_reason = serializers.CharField(read_only=True)

    def to_representation(self, task):
        return {
            "id": task.pk,
            "name": task.name,
            "active": task.active,
            "event": {
                "type": task.event_type,
                "to_status": task.to_status_id,
                "from_status": task.from_status_id,
                "payment_status": task.payment_status or None,
            },
            "conditions": task.conditions,
            "actions": [action_types.to_data(a) for a in task.actions.all()],
            "broken_reason": services.task_problems(task) or task.broken_reason,
        }


class RunSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaskRun
        fields = [
            "id",
            "task",
            "task_name",
            "event",
            "order",
            "state",
            "next_action",
            "results",
            "chain_depth",
            "created_at",
            "finished_at",
        ]


class AutomaticTaskViewSet(viewsets.ViewSet):
    permission_classes = [IsAdminRole]
    serializer_class = TaskSerializer
    queryset = AutomaticTask.objects.all()  # lets the schema type the {id} path parameter

    def list(self, request):
        tasks = AutomaticTask.objects.prefetch_related("actions")
        return Response([TaskSerializer(t).data for t in tasks])

    def retrieve(self, request, pk=None):
        return Response(TaskSerializer(get_object_or_404(AutomaticTask, pk=pk)).data)

    @extend_schema(request=TaskSerializer, responses={201: TaskSerializer})
    def create(self, request):
        serializer = TaskSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.task_save(data=dict(serializer.validated_data))
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TaskSerializer, responses=TaskSerializer)
    def partial_update(self, request, pk=None):
        task = get_object_or_404(AutomaticTask, pk=pk)
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"detail": "Oczekiwano obiektu JSON."})
        data = {**TaskSerializer(task).data, **request.data}
        serializer = TaskSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        return Response(TaskSerializer(services.task_save(data=dict(serializer.validated_data), task=task)).data)

    def destroy(self, request, pk=None):
        get_object_or_404(AutomaticTask, pk=pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=RunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request, pk=None):
        task = get_object_or_404(AutomaticTask, pk=pk)
        return Response(RunSerializer(task.runs.all()[:500], many=True).data)


class EmailTemplateSerializer(serializers.ModelSerializer):
    """Placeholders from the fixed set only (`accounting.emails.PLACEHOLDERS`); validated on save."""

    class Meta:
        model = EmailTemplate
        fields = ["id", "name", "subject", "body", "is_default"]
        # uniqueness is checked by the service (one Polish message for the page and the API)
        extra_kwargs = {"name": {"validators": []}}


class EmailTemplateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """`/api/email-templates/`: staff read, admins write; a template used by a task cannot be deleted (409)."""

    permission_classes = [StaffReadAdminWrite]
    serializer_class = EmailTemplateSerializer
    queryset = EmailTemplate.objects.all()
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = emails.template_save(data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = emails.template_save(data=dict(serializer.validated_data), template=serializer.instance)

    @extend_schema(responses={204: None, 409: dict})
    def destroy(self, request, *args, **kwargs):
        services.email_template_delete(template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrderEmailsView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=EmailMessageSerializer(many=True))
    def get(self, request, order_id):
        order = get_object_or_404(Order, pk=order_id)
        mails = EmailMessage.objects.filter(document__order=order).select_related("document")
        return Response(EmailMessageSerializer(mails, many=True).data)
