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
        # Directory provisioning (esm's): which departments need an explicit mapping before a
        # group grants a role in them, and the offboarding a deactivation raises.
        confidential_departments_register(selectors.confidential_department_ids)
        offboarding_handler_register(offboarding.offboarding_raise)
