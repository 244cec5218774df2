from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "Services"

    def ready(self) -> None:
        # The rules register themselves; the Celery tasks must be registered in every
        # process (web too), because actions publish them by name (`services.enqueue`).
        from esm.navigation import nav_counter_register
        from esm.provisioning import (
            confidential_departments_register,
            offboarding_handler_register,
        )
        from esm.workspace import workspace_section_register
        from services import offboarding, permissions, selectors, tasks  # noqa: F401
        from services.views import knowledge_sharing

        nav_counter_register(
            "Approvals", lambda user: selectors.approval_summary_for(user=user).waiting
        )
        # "Your knowledge sharing" on the workspace (esm's page, which cannot import us).
        workspace_section_register(knowledge_sharing.workspace_section)
        # Single sign-on and directory provisioning (esm's): a department with a confidential
        # item holds confidential cases, so a group mapping grants no role there unless it is
        # explicitly allowed; a deactivation in the directory raises the offboarding.
        confidential_departments_register(selectors.confidential_department_ids)
        offboarding_handler_register(offboarding.offboarding_raise)
