"""Consults: one department asking another about a task, without handing the work off."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from esm import clock
from esm.models import Department
from services.models.tasks import FulfilmentTask


class ConsultQuerySet(models.QuerySet["Consult"]):
    def open(self) -> ConsultQuerySet:
        return self.filter(state=Consult.State.OPEN)


class Consult(models.Model):
    """A question from the department of `asking_task` to another department.

    The question is worked as `consult_task`, a task in the consulted department's queue
    (so it is sorted, claimed and measured like any task); the asking task waits on it.
    On a confidential case the consulted department sees the question and its answer,
    never the case itself (`services.permissions`).
    """

    class State(models.TextChoices):
        OPEN = "open", "Waiting for an answer"
        ANSWERED = "answered", "Answered"
        WITHDRAWN = "withdrawn", "Withdrawn"

    asking_task = models.ForeignKey(
        FulfilmentTask, on_delete=models.CASCADE, related_name="consults_asked"
    )
    consult_task = models.OneToOneField(
        FulfilmentTask, on_delete=models.CASCADE, related_name="consult"
    )
    # Copied from the two tasks when asked: the measures read them without a join.
    from_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="consults_asked"
    )
    to_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="consults_received"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    question = models.TextField()
    answer = models.TextField(blank=True)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consults_asked"
    )
    asked_at = models.DateTimeField(default=clock.now)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consults_answered",
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = ConsultQuerySet.as_manager()

    class Meta:
        ordering = ["asked_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_department=F("to_department")),
                name="consult_asks_another_department",
            ),
            models.CheckConstraint(
                condition=~Q(asking_task=F("consult_task")),
                name="consult_task_is_not_the_asking_task",
            ),
            models.CheckConstraint(
                condition=Q(state="open", answered_at__isnull=True, withdrawn_at__isnull=True)
                | Q(state="answered", answered_at__isnull=False)
                | Q(state="withdrawn", withdrawn_at__isnull=False),
                name="consult_state_has_its_time",
            ),
        ]
        indexes = [
            models.Index(fields=["asking_task", "state"], name="consult_by_asking_task"),
            # A department's managers count the consults of a period, and those still open
            # of them whenever asked: a few of every consult ever asked.
            models.Index(fields=["asked_at"], name="consult_by_asked_at"),
            models.Index(
                fields=["to_department"],
                condition=Q(state="open"),
                name="consult_open_by_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_department} asks {self.to_department}: {self.question[:50]}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN
