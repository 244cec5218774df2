"""Form starts: an employee opening an item's form, the denominator of abandonment."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from esm import clock
from services.models.catalog import CatalogItem


class FormStart(models.Model):
    """Someone opened an item's form (answers are never kept: only that they started).

    One row per person, item and day, however often the page is reloaded. A request raised
    from the form links to its start (`ServiceRequest.form_start`), so abandonment is the
    starts that no request links to.
    """

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="form_starts"
    )
    catalog_item = models.ForeignKey(
        CatalogItem, on_delete=models.CASCADE, related_name="form_starts"
    )
    day = models.DateField(help_text="The local day of the first opening.")
    started_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "catalog_item", "day"], name="one_form_start_per_person_item_day"
            ),
        ]
        indexes = [
            models.Index(fields=["catalog_item", "started_at"], name="form_start_by_item"),
        ]

    def __str__(self) -> str:
        return f"{self.person} opened {self.catalog_item} on {self.day:%Y-%m-%d}"
