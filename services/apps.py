from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "Services"

    def ready(self) -> None:
        # The rules register themselves; the Celery tasks must be registered in every
        # process (web too), because actions publish them by name (`services.enqueue`).
        from esm.confidential import confidential_departments_register
        from esm.navigation import nav_counter_register
        from esm.workspace import workspace_section_register
        from services import permissions, selectors, tasks  # noqa: F401
        from services.views import knowledge_sharing

        nav_counter_register(
            "Approvals", lambda user: selectors.approval_summary_for(user=user).waiting
        )
        # "Your knowledge sharing" on the workspace (esm's page, which cannot import us).
        workspace_section_register(knowledge_sharing.workspace_section)
        # A department with a confidential item holds confidential cases: single sign-on's
        # group mapping grants no role there unless the department is explicitly allowed.
        confidential_departments_register(selectors.departments_with_confidential_items)
