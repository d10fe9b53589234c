"""REST API: `/api/automatic-tasks/` (+ runs), `/api/email-templates/`, `/api/orders/{id}/emails/`."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting.models import EmailMessage, EmailTemplate
from apilo.roles import IsAdminRole, IsStaffRole
from orders.models import Order

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
            "actions": [
                {
                    "type": a.type,
                    "series": a.series_id,
                    "kind": a.document_kind or None,
                    "template": a.template_id,
                    "status": a.status_id,
                    "note": a.note or None,
                    "printer": a.printer_id,
                }
                for a in task.actions.all()
            ],
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
    class Meta:
        model = EmailTemplate
        fields = ["id", "name", "subject", "body", "is_default"]


class EmailTemplateViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsStaffRole]
    serializer_class = EmailTemplateSerializer
    queryset = EmailTemplate.objects.all()
    pagination_class = None


class EmailMessageSerializer(serializers.ModelSerializer):
    document_number = serializers.CharField(source="document.number")

    class Meta:
        model = EmailMessage
        fields = [
            "id",
            "document",
            "document_number",
            "template",
            "trigger",
            "recipient",
            "subject",
            "state",
            "error",
            "created_at",
            "sent_at",
        ]


class OrderEmailsView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=EmailMessageSerializer(many=True))
    def get(self, request, order_id):
        order = get_object_or_404(Order, pk=order_id)
        mails = EmailMessage.objects.filter(document__order=order).select_related("document")
        return Response(EmailMessageSerializer(mails, many=True).data)
